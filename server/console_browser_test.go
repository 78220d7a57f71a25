package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/consoleui"
	"github.com/agentmcp/agentmcp/server/gateway"
	"github.com/agentmcp/agentmcp/store"
)

// TestConsoleServesFiles: /console and every built file are served with the security
// headers, index.html loads only files of its own (nothing inline, nothing from elsewhere),
// and there are no directory listings.
func TestConsoleServesFiles(t *testing.T) {
	env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{})
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(env.Server.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	headers := func(path string, resp *http.Response) {
		t.Helper()
		for k, want := range map[string]string{
			"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
		} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%s: %s is %q, want %q", path, k, got, want)
			}
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
	}
	var index string
	for _, p := range []string{"/console", "/console/"} {
		resp, body := get(p)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, `<div id="app">`) {
			t.Fatalf("GET %s: %d %s %.200s", p, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q", p, cc)
		}
		headers(p, resp)
		index = body
	}
	// Every script and style is a file of its own, under /console/.
	if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]|<style|\sstyle=|\son[a-z]+=`).MatchString(index) {
		t.Errorf("index.html has inline script or style:\n%s", index)
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(index, -1)
	if len(refs) < 3 {
		t.Fatalf("index.html references %d files", len(refs))
	}
	for _, m := range refs {
		if !strings.HasPrefix(m[1], "/console/") {
			t.Errorf("index.html loads %q, not a file of the console", m[1])
		}
	}
	// Every embedded file is served, with the right type; assets are cached for good.
	types := map[string]string{".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html"}
	n := 0
	err := fsWalk(consoleui.Files, func(name string) {
		n++
		resp, body := get("/console/" + name)
		if name == "index.html" { // redirected to /console/
			return
		}
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Errorf("GET /console/%s: %d", name, resp.StatusCode)
		}
		if want := types[filepath.Ext(name)]; !strings.HasPrefix(resp.Header.Get("Content-Type"), want) {
			t.Errorf("GET /console/%s: Content-Type %q, want %s", name, resp.Header.Get("Content-Type"), want)
		}
		headers(name, resp)
		if strings.HasPrefix(name, "assets/") && !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("GET /console/%s: Cache-Control %q", name, resp.Header.Get("Cache-Control"))
		}
		if filepath.Ext(name) == ".js" && (strings.Contains(body, "//cdn.") || strings.Contains(body, "fonts.googleapis")) {
			t.Errorf("%s loads from another origin", name)
		}
	})
	if err != nil || n < 4 {
		t.Fatalf("walked %d files: %v", n, err)
	}
	for _, p := range []string{"/console/assets/", "/console/nope.js", "/console/assets/nope.js"} {
		if resp, _ := get(p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
}

// TestConsoleInBrowser drives the console in headless Chromium against a real agentmcp with
// real MCP servers behind it: sign-in, every page and form, keyboard only, axe-core on every
// page in light and dark at 1440 and 390 px, and the screenshots of docs/ (make screenshot).
func TestConsoleInBrowser(t *testing.T) {
	root := startChromium(t)
	axe := axeSource(t)

	st := apitest.OpenSQLite(t)
	loopback := probe.New(probe.Options{AllowPrivate: true, Timeout: 5 * time.Second})
	cfg := app.Config{Credentials: testCredentials(t, st), Prober: loopback, Gateway: gateway.Options{Connector: loopback}}
	env := apitest.Start(t, st, cfg)
	api := env.Client(t, env.KeyA)
	ctx := context.Background()
	console := env.Server.URL + "/console/"

	weatherURL := showcaseMCP(t)
	secure := newUpstream(t, "secure", 2, knownToken, nil)
	slowURL := slowMCP(t, 1500*time.Millisecond)
	for i := 1; i <= 24; i++ {
		must(api.CreateServer(ctx, client.CreateMCPServer{Name: fmt.Sprintf("Bulk %02d", i), Slug: fmt.Sprintf("bulk-%02d", i), Url: fmt.Sprintf("https://bulk-%02d.example.com/mcp", i)}))(t)
	}

	b := newTab(t, root)
	b.viewport(1440, 900)

	t.Run("sign in", func(t *testing.T) {
		b.t = t
		b.open(console)
		b.waitText("Sign in to agentmcp")
		b.axe("sign-in", axe)
		b.click(button("Sign in"))
		b.waitText("Enter an API key.")
		b.fill("#main input[name=apikey]", "amk_not-a-key")
		b.click(button("Sign in"))
		b.waitText("does not know this key")
		b.replace("#main input[name=apikey]", env.AuthOnlyKey)
		b.click(button("Sign in"))
		b.waitText("cannot manage MCP servers")
		if eval[string](b, `sessionStorage.getItem("agentmcp.apiKey") || ""`) != "" {
			t.Fatal("a refused key was kept")
		}
		b.replace("#main input[name=apikey]", env.KeyA)
		b.keys("\r")
		b.waitJS("the servers table", `document.querySelectorAll("table.list tbody tr").length === 20`)
		if got := eval[string](b, `sessionStorage.getItem("agentmcp.apiKey")`); got != env.KeyA {
			t.Fatalf("sessionStorage holds %q", got)
		}
		if got := eval[string](b, `JSON.stringify(localStorage) + document.cookie`); strings.Contains(got, env.KeyA) {
			t.Fatal("the key is kept beyond the tab")
		}
		b.do(chromedp.Reload())
		b.waitJS("still signed in after a reload", `document.querySelector("h1") && document.querySelector("h1").innerText === "MCP servers"`)
		// Another tab has its own sessionStorage: signed out.
		other := newTab(t, root)
		other.open(console)
		other.waitText("Sign in to agentmcp")
		b.clean()
	})

	t.Run("servers: pages", func(t *testing.T) {
		b.t = t
		b.open(console + "#/servers")
		b.waitJS("first page", `document.querySelectorAll("table.list tbody tr").length === 20`)
		b.waitText("older ones not loaded yet")
		b.click(button("Load more"))
		b.waitJS("second page", `document.querySelectorAll("table.list tbody tr").length === 24`)
		b.waitJS("no more to load", `![...document.querySelectorAll("button")].some((x) => x.innerText === "Load more")`)
		if first := b.text("table.list tbody tr td"); first != "Bulk 24" {
			t.Fatalf("first row %q, want the newest", first)
		}
		b.axe("servers list", axe)
	})

	t.Run("servers: create with the API's errors beside each field", func(t *testing.T) {
		b.t = t
		b.click(button("New MCP server"))
		b.waitText("Register MCP server")
		b.fill("input[name=slug]", "Bad Slug")
		b.fill("input[name=url]", "ftp://weather.example.com")
		b.click(button("Register MCP server"))
		b.waitJS("field errors", `document.querySelectorAll(".field.invalid .field-error").length === 3`)
		for _, f := range []string{"name", "slug", "url"} {
			ok := eval[bool](b, `(() => { const i = document.querySelector("input[name=`+f+`]");
				const err = i.closest(".field").querySelector(".field-error");
				return i.getAttribute("aria-invalid") === "true" && i.getAttribute("aria-describedby").split(" ").includes(err.id) && err.innerText.length > 3 })()`)
			if !ok {
				t.Errorf("field %s: no error beside it, or not described by it", f)
			}
		}
		if f := b.focused(); !strings.HasPrefix(f, "input:Name") {
			t.Errorf("focus is on %q, want the first invalid field", f)
		}
		b.axe("server form with errors", axe)
		b.fill("input[name=name]", "Weather")
		b.replace("input[name=slug]", "weather")
		b.replace("input[name=url]", weatherURL)
		b.fill("textarea[name=description]", "Forecasts and alerts for any city")
		b.click(button("Register MCP server"))
		b.waitText("Registered Weather.")
		b.waitText("Not probed yet")
		// A never-probed server has no tools to ask for: no request, so no 404 in the browser's console.
		if eval[bool](b, `performance.getEntriesByType("resource").some((e) => e.name.includes("/mcp-servers/weather/tools"))`) {
			t.Error("the page of a never-probed server requested its tools")
		}
	})

	t.Run("servers: probe, tools and input schemas", func(t *testing.T) {
		b.t = t
		b.click(button("Probe now"))
		b.waitText("listed its tools")
		b.waitJS("three tools", `document.querySelectorAll("li.tool").length === 3`)
		b.waitText("Get the forecast for a city")
		b.click(`//summary[normalize-space()="Input schema of get_forecast"]`)
		if schema := b.text("li.tool details[open] pre"); !strings.Contains(schema, `"city"`) || !strings.Contains(schema, `"required"`) {
			t.Fatalf("input schema shown: %q", schema)
		}
		if h := b.text("#main > dl.facts"); !strings.Contains(h, "Healthy") {
			t.Fatalf("health after the probe: %q", h)
		}
		b.axe("server page", axe)
		b.shot("console-server")
		b.clean()
	})

	t.Run("servers: auth_required explained, credentials write-only", func(t *testing.T) {
		b.t = t
		b.open(console + "#/servers/new")
		b.waitText("Register MCP server")
		b.fill("input[name=name]", "Secure Docs")
		b.fill("input[name=slug]", "secure")
		b.fill("input[name=url]", secure.URL)
		b.click(button("Register MCP server"))
		b.waitText("Registered Secure Docs.")
		b.click(button("Probe now"))
		b.waitText("The server wants credentials")
		b.waitText("Edit → Credentials")

		// Custom headers first: still refused (it wants a bearer token).
		b.click(button("Edit"))
		b.waitText("Edit Secure Docs")
		b.click("#r-auth-headers")
		b.fill("input[name=hname1]", "X-Api-Key")
		b.fill("input[name=hvalue1]", "hdr-"+knownToken)
		b.click(button("Add header"))
		b.fill("input[name=hname2]", "Bad Header")
		b.fill("input[name=hvalue2]", "x")
		b.click(button("Save changes"))
		b.waitJS("the credentials error", `document.querySelector("fieldset.creds.invalid .field-error")`)
		b.click(`button[aria-label="Remove header 2"]`)
		b.click(button("Save changes"))
		b.waitText("Saved Secure Docs.")
		b.waitText("headers X-Api-Key")

		b.click(button("Edit"))
		b.waitText("Keep the stored credentials")
		if !eval[bool](b, `document.querySelector("#r-auth-keep").checked`) {
			t.Fatal("editing does not keep the stored credentials by default")
		}
		b.click("#r-auth-bearer")
		b.fill("input[name=token]", knownToken)
		b.click(button("Save changes"))
		b.waitText("a bearer token (sent as Authorization)")
		b.click(button("Probe now"))
		b.waitText("listed its tools")
		b.waitJS("two tools", `document.querySelectorAll("li.tool").length === 2`)
		s := must(api.GetServer(ctx, "secure"))(t)
		if s.Auth == nil || s.Auth.Type != "bearer" {
			t.Fatalf("stored auth %+v", s.Auth)
		}
		b.open(console + "#/servers/secure/edit")
		b.waitText("Keep the stored credentials")
		if html := eval[string](b, `document.documentElement.outerHTML + JSON.stringify(sessionStorage) + JSON.stringify(localStorage)`); strings.Contains(html, knownToken) {
			t.Fatal("the token is in the page after it was saved")
		}
	})

	t.Run("servers: slow probe shows progress", func(t *testing.T) {
		b.t = t
		must(api.CreateServer(ctx, client.CreateMCPServer{Name: "Slow", Slug: "slow", Url: slowURL}))(t)
		b.open(console + "#/servers/slow")
		b.waitText("Probe now")
		b.click(button("Probe now"))
		b.waitJS("a busy button", `[...document.querySelectorAll("button[aria-busy=true]")].some((x) => x.innerText.includes("Probing…") && x.disabled)`)
		b.waitText("listed its tools")
	})

	t.Run("servers: filter by health, search by name or slug", func(t *testing.T) {
		b.t = t
		must(api.CreateServer(ctx, client.CreateMCPServer{Name: "Down", Slug: "down", Url: "http://127.0.0.1:9/mcp"}))(t)
		if p := must(api.ProbeServer(ctx, "down"))(t); p.Status != "unreachable" {
			t.Fatalf("probe of a closed port: %s", p.Status)
		}
		expect := func(what string, want ...string) {
			t.Helper()
			js, _ := json.Marshal(want)
			b.waitJS(what, `JSON.stringify([...document.querySelectorAll("table.list tbody td[data-label=Slug]")].map((x) => x.innerText)) === `+jsString(string(js)))
		}
		b.open(console + "#/servers")
		b.waitJS("the list", `document.querySelectorAll("table.list tbody tr").length === 20`)
		// The registry for editors: off, then on from the page, and then served. Clicked while
		// the list above it is still: a click lands where the button was when it was found, and
		// a search's late page (after its debounce) moved the button away from it.
		b.waitText("Registry for editors")
		b.waitText("Off: no registry at " + env.Server.URL + "/registry/" + env.AppA)
		b.click(button("Turn the registry on"))
		b.waitText("chat.mcp.gallery.serviceUrl")
		if on, err := st.RegistryEnabled(ctx, env.AppA); err != nil || !on {
			t.Fatalf("registry after the switch: %v %v", on, err)
		}
		if resp, err := http.Get(env.Server.URL + "/registry/" + env.AppA + "/v0.1/servers"); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("the registry after the switch: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
		b.choose("#health", "ok")
		expect("healthy servers", "slow", "secure", "weather")
		// The page of a server whose last probe failed says why, in the probe's own words.
		last := must(api.Generated().McpServersControllerGetLastProbeWithResponse(ctx, "down"))(t)
		if last.JSON200 == nil || last.JSON200.Error == "" {
			t.Fatalf("last probe of down: %s", last.Body)
		}
		b.open(console + "#/servers/down")
		b.waitText("Last probe: Unreachable.")
		b.waitText(last.JSON200.Error)
		if txt := b.text("#main"); strings.Contains(txt, "Not probed yet") {
			t.Errorf("a probed server's page says it was never probed:\n%s", txt)
		}
		b.open(console + "#/servers")
		b.waitJS("the list", `document.querySelectorAll("table.list tbody tr").length === 20`)
		b.choose("#health", "failing")
		expect("failing servers", "down")
		// Tools: "—" after a failed probe, "not probed" before any, never a 0 that means neither.
		if cell := b.text("table.list tbody td[data-label=Tools]"); cell != "—" {
			t.Errorf("tools of a failing server: %q", cell)
		}
		b.choose("#health", "unknown")
		b.waitJS("never probed", `document.querySelectorAll("table.list tbody tr").length === 20 && !document.body.innerText.includes("Down")`)
		if cell := b.text("table.list tbody td[data-label=Tools]"); cell != "not probed" {
			t.Errorf("tools of a never-probed server: %q", cell)
		}
		b.fill("input[name=q]", "bulk-0")
		expect("search within a health filter", "bulk-09", "bulk-08", "bulk-07", "bulk-06", "bulk-05", "bulk-04", "bulk-03", "bulk-02", "bulk-01")
		b.choose("#health", "")
		b.replace("input[name=q]", "WEATH")
		expect("search by name, across pages", "weather")

		b.replace("input[name=q]", "bulk-01")
		expect("the oldest, found on a later page", "bulk-01")
		b.replace("input[name=q]", "")
		b.waitJS("every server again", `document.querySelectorAll("table.list tbody tr").length === 20`)
		b.shot("console-servers")
	})

	t.Run("agents: create, errors, edit, attach and detach", func(t *testing.T) {
		b.t = t
		must(api.CreateAgent(ctx, client.CreateAgent{Uid: ptr("sales"), Name: "Sales", McpServers: &[]string{"weather"}}))(t)
		b.open(console + "#/agents")
		b.waitText("Sales")
		b.click(button("New agent"))
		b.waitText("Make agent")
		b.fill("input[name=uid]", "Support Bot")
		b.fill("input[name=name]", "Support Agent")
		b.click(button("Make agent"))
		b.waitJS("the uid's error", `document.querySelector("input[name=uid]").getAttribute("aria-invalid") === "true"`)
		b.replace("input[name=uid]", "sales")
		b.click(button("Make agent"))
		b.waitJS("the duplicate's error", `document.querySelector("input[name=uid]").closest(".field").innerText.includes("already exists")`)
		b.replace("input[name=uid]", "support")
		b.fill("textarea[name=instruction]", "Answer with the weather tools.")
		b.click(button("Make agent"))
		b.waitText("Made Support Agent.")
		b.waitText("None attached")

		b.click(button("Attach MCP servers"))
		b.waitJS("the picker", `document.querySelector("#pick-weather") && document.querySelector("#pick-secure")`)
		b.click("#pick-weather")
		b.click("#pick-secure")
		b.click(button("Attach 2 servers"))
		b.waitJS("two attached", `document.querySelectorAll("#main section table.list")[0]?.querySelectorAll("tbody tr").length === 2`)
		if h := b.text("#main section table.list"); strings.Count(h, "Healthy") != 2 {
			t.Fatalf("enabled items' health: %q", h)
		}
		b.click(`button[aria-label="Detach Secure Docs"]`)
		b.waitJS("one attached", `document.querySelectorAll("#main section table.list")[0]?.querySelectorAll("tbody tr").length === 1`)
		if a := must(api.GetAgent(ctx, "support"))(t); !slices.Equal(a.McpServers, []string{"weather"}) {
			t.Fatalf("attached: %v", a.McpServers)
		}
		b.click(button("Edit"))
		b.waitText("Save changes")
		b.replace("input[name=name]", "Support Bot")
		b.click(button("Save changes"))
		b.waitText("Saved Support Bot.")
		b.clean()
	})

	var secret, goSnippet string
	t.Run("agents: gateway URL and copy-ready configs", func(t *testing.T) {
		b.t = t
		url := env.Server.URL + "/v3/ai-agents/agent-builder/agents/support/mcp"
		if got := eval[string](b, `document.querySelector("#gateway-url").value`); got != url {
			t.Fatalf("gateway URL %q, want %q", got, url)
		}
		b.click(button("Copy URL"))
		b.waitText("Copied")
		if got := eval[string](b, `navigator.clipboard.readText()`); got != url {
			t.Errorf("clipboard %q", got)
		}
		code := func(tab string) string {
			b.click(`//button[@role="tab" and normalize-space()=` + xpathString(tab) + `]`)
			return eval[string](b, `document.querySelector("[role=tabpanel]:not([hidden]) pre").innerText`)
		}
		var vscode struct {
			Servers map[string]struct {
				Type, URL string
				Headers   map[string]string
			}
			Inputs []struct {
				ID, Type string
				Password bool
			}
		}
		if err := json.Unmarshal([]byte(code("VS Code")), &vscode); err != nil {
			t.Fatalf("VS Code config: %v", err)
		}
		s := vscode.Servers["support"]
		// The input id names the agent: two agents in one mcp.json each get their own key.
		if s.Type != "http" || s.URL != url || s.Headers["Authorization"] != "Bearer ${input:agentmcp-key-support}" ||
			len(vscode.Inputs) != 1 || vscode.Inputs[0].ID != "agentmcp-key-support" || vscode.Inputs[0].Type != "promptString" || !vscode.Inputs[0].Password {
			t.Errorf("VS Code config: %+v", vscode)
		}
		if c := code("Claude Code"); !strings.HasPrefix(c, "claude mcp add --transport http support "+url+` \`) || !strings.Contains(c, `--header "Authorization: Bearer $AGENTMCP_AGENT_KEY"`) {
			t.Errorf("Claude Code command: %q", c)
		}
		if c := code("TypeScript"); !strings.Contains(c, `new URL("`+url+`")`) || !strings.Contains(c, "StreamableHTTPClientTransport") || !strings.Contains(c, "await client.close();") {
			t.Errorf("TypeScript snippet (it must close the client, or the process never exits): %q", c)
		}
		if c := code("Inspector"); !strings.Contains(c, "--cli "+url) || !strings.Contains(c, `--header "Authorization: Bearer $AGENTMCP_AGENT_KEY"`) ||
			!strings.Contains(b.text("#main"), "needs Node ≥ 22") {
			t.Errorf("Inspector command, with Node ≥ 22 said: %q", c)
		}
		goSnippet = code("Go")
		// The tabs by keyboard: arrows move between them (Go is last; right wraps to the first).
		b.keys("\u0303")
		if f := b.focused(); f != "button:VS Code" || !strings.Contains(code("VS Code"), `"servers"`) {
			t.Errorf("ArrowRight from the last tab: focus %q", f)
		}
		b.keys("\u0305") // End
		if f := b.focused(); f != "button:Go" || !eval[bool](b, `document.activeElement.getAttribute("aria-selected") === "true"`) {
			t.Errorf("End: focus %q", f)
		}
		if !strings.Contains(goSnippet, `Endpoint:   "`+url+`"`) {
			t.Errorf("Go snippet: %q", goSnippet)
		}
	})

	t.Run("agents: keys minted once, listed, revoked", func(t *testing.T) {
		b.t = t
		b.fill("input[name=key-name]", "runtime")
		b.click(button("Create key"))
		b.waitText("copy it now")
		secret = eval[string](b, `document.querySelector("#secret-value").value`)
		if !strings.HasPrefix(secret, "amk_") && len(secret) < 20 {
			t.Fatalf("secret %q", secret)
		}
		if f := eval[string](b, `document.activeElement.className`); f != "secret" {
			t.Errorf("focus on %q, want the new key", f)
		}
		b.axe("agent page with a new key", axe)
		// The key works: the agent's gateway lists the weather tools with it.
		cs := gatewayClient(t, env, "support", secret, nil)
		var names []string
		for _, tl := range allTools(t, cs) {
			names = append(names, tl.Name)
		}
		if !slices.Contains(names, "weather__get_forecast") {
			t.Fatalf("gateway tools with the new key: %v", names)
		}
		// And so does the Go snippet as the page gives it.
		if out := runGoSnippet(t, goSnippet, secret); !strings.Contains(out, "weather__get_forecast") {
			t.Fatalf("the Go snippet printed %q", out)
		}
		b.click(button("I have copied it"))
		b.waitJS("the secret gone", `!document.querySelector("#secret-value")`)
		prefix := b.text("table.list td[data-label='Starts with']")
		if !strings.HasPrefix(secret, strings.TrimSuffix(prefix, "…")) || !strings.Contains(b.text("#main"), "runtime") {
			t.Fatalf("key row: prefix %q", prefix)
		}
		b.do(chromedp.Reload())
		b.waitText("Agent keys")
		b.waitText("runtime")
		if strings.Contains(eval[string](b, `document.documentElement.outerHTML`), secret) {
			t.Fatal("the secret is on the page again")
		}
		b.click(`button[aria-label="Revoke key runtime"]`)
		b.waitJS("the dialog", `document.querySelector("dialog[open]")`)
		b.axe("revoke dialog", axe)
		b.click(button("Revoke key"))
		b.waitJS("revoked", `!document.querySelector("dialog[open]") && document.body.innerText.includes("Revoked")`)
		if code := gatewayStatus(t, env, "support", secret); code != http.StatusUnauthorized {
			t.Fatalf("revoked key at the gateway: %d", code)
		}
		b.shot("console-agent")
		b.clean()
	})

	t.Run("servers: delete names the agents it leaves", func(t *testing.T) {
		b.t = t
		b.open(console + "#/servers/weather")
		b.waitText("Probe now")
		b.click(button("Delete"))
		b.waitJS("the agents named", `document.querySelector("dialog[open] ul.agents-affected")`)
		got := eval[[]string](b, `[...document.querySelectorAll("dialog[open] ul.agents-affected li")].map((x) => x.innerText)`)
		if !slices.Equal(got, []string{"Support Bot (support)", "Sales (sales)"}) && !slices.Equal(got, []string{"Sales (sales)", "Support Bot (support)"}) {
			t.Fatalf("the dialog names %q", got)
		}
		// Escape cancels, and focus goes back to the button that opened it.
		b.keys("\x1b")
		b.waitJS("closed", `!document.querySelector("dialog[open]")`)
		if f := b.focused(); f != "button:Delete" {
			t.Errorf("focus after Escape: %q", f)
		}
		b.keys("\r")
		b.waitJS("open again", `document.querySelector("dialog[open] ul.agents-affected")`)
		b.click(button("Delete MCP server"))
		b.waitText("Deleted Weather.")
		if a := must(api.GetAgent(ctx, "sales"))(t); len(a.McpServers) != 0 {
			t.Fatalf("sales still has %v", a.McpServers)
		}
	})

	t.Run("audit: newest first, filter by target and action", func(t *testing.T) {
		b.t = t
		rows := func() [][2]string {
			return eval[[][2]string](b, `[...document.querySelectorAll("table.audit tbody tr")].map((r) => [r.querySelector("[data-label=Action]").innerText, r.querySelector("[data-label=Target]").innerText])`)
		}
		b.open(console + "#/audit")
		b.waitJS("a page of events", `document.querySelectorAll("table.audit tbody tr").length === 25`)
		page := must(api.AuditEvents(ctx, client.AuditOptions{Limit: 25}))(t)
		got := rows()
		for i, e := range page.Data {
			if got[i] != [2]string{string(e.Action), e.Target} {
				t.Fatalf("row %d is %v, the API's %d-th newest is %s %s", i, got[i], i, e.Action, e.Target)
			}
		}
		if got[0] != [2]string{"mcp_server.delete", "mcp_server:weather"} {
			t.Fatalf("newest row %v", got[0])
		}
		b.click(button("Load more"))
		b.waitJS("more events", `document.querySelectorAll("table.audit tbody tr").length > 25`)
		b.choose("#action", "agent.create")
		b.click(button("Filter"))
		b.waitJS("agent creates only", `document.querySelectorAll("table.audit tbody tr").length === 2`)
		for _, r := range rows() {
			if r[0] != "agent.create" {
				t.Fatalf("row %v under action agent.create", r)
			}
		}
		b.choose("#action", "")
		b.replace("input[name=target]", "mcp_server:secure")
		b.click(button("Filter"))
		b.waitJS("one target", `location.hash.includes("target=mcp_server")`)
		// Created, then credentials twice (headers, bearer); the refused save left no trace.
		b.waitJS("its events", `document.querySelectorAll("table.audit tbody tr").length === 3`)
		want := [][2]string{{"mcp_server.update", "mcp_server:secure"}, {"mcp_server.update", "mcp_server:secure"}, {"mcp_server.create", "mcp_server:secure"}}
		if got := rows(); !slices.Equal(got, want) {
			t.Fatalf("events of mcp_server:secure: %v", got)
		}
		if strings.Contains(eval[string](b, `document.documentElement.outerHTML`), knownToken) {
			t.Fatal("the audit page shows a credential")
		}
		b.open(console + "#/audit")
		b.waitJS("a page of events", `document.querySelectorAll("table.audit tbody tr").length === 25`)
		b.axe("audit", axe)
		b.shot("console-audit")
		b.clean()
	})

	t.Run("light and dark, 1440 and 390 px", func(t *testing.T) {
		b.t = t
		pages := []struct{ name, hash, ready string }{
			{"servers", "#/servers", "Load more"},
			{"server", "#/servers/secure", "Input schema of secure_0"},
			{"server form", "#/servers/secure/edit", "Keep the stored credentials"},
			{"agents", "#/agents", "Support Bot"},
			{"agent", "#/agents/support", "Copy VS Code config"},
			{"audit", "#/audit", "Before and after"},
		}
		for _, scheme := range []string{"dark", "light"} {
			b.colorScheme(scheme)
			for _, w := range []int64{390, 1440} {
				b.viewport(w, 900)
				for _, p := range pages {
					b.open(console + p.hash)
					b.waitText(p.ready)
					b.noOverflow(fmt.Sprintf("%s (%s)", p.name, scheme))
					b.axe(fmt.Sprintf("%s, %s, %d px", p.name, scheme, w), axe)
				}
			}
			bg := eval[string](b, `getComputedStyle(document.body).backgroundColor`)
			if dark := bg == "rgb(17, 20, 24)"; dark != (scheme == "dark") {
				t.Errorf("%s: the background is %s", scheme, bg)
			}
		}
		b.colorScheme("dark")
		b.open(console + "#/agents/support")
		b.waitText("Copy VS Code config")
		b.shot("console-agent-dark")
		b.colorScheme("light")
		b.viewport(390, 844)
		b.open(console + "#/servers")
		b.waitText("Load more")
		// One compact card per server at phone width (it was 228 px a server).
		if h := eval[float64](b, `document.querySelector("table.list tbody").getBoundingClientRect().height / document.querySelectorAll("table.list tbody tr").length`); h > 100 {
			t.Errorf("at 390 px a server's row is %.0f px tall", h)
		}
		b.shotViewport("console-servers-390")
		b.viewport(1440, 900)
		b.clean()
	})

	t.Run("keyboard only", func(t *testing.T) {
		k := newTab(t, root)
		k.viewport(1440, 900)
		key2 := newKey(t, st, env.AppA)
		k.open(console)
		k.waitText("Sign in to agentmcp")
		k.tabTo("input:API key")
		k.keys(key2)
		k.keys("\r")
		k.waitView("MCP servers")
		k.tabTo("a:New MCP server")
		k.keys("\r")
		k.waitView("New MCP server")
		k.tabTo("input:Name")
		k.keys("Keyboard")
		k.keys("\t")
		k.keys("keyboard")
		k.keys("\t")
		k.keys(slowURL)
		typed := eval[string](k, `["name", "slug", "url"].map((n) => document.querySelector("form input[name=" + n + "]")?.value ?? "(no " + n + " field)").join(" ")`)
		if want := "Keyboard keyboard " + slowURL; typed != want {
			t.Fatalf("the keys went elsewhere: the fields hold %q, not %q", typed, want)
		}
		k.keys("\r") // Enter in a field submits the form
		k.waitText("Registered Keyboard.")
		k.waitView("Keyboard")
		k.tabTo("button:Probe now")
		k.keys(" ")
		k.waitText("listed its tools")
		// Skip link, then the menu.
		k.open(console + "#/agents")
		k.do(chromedp.Reload()) // a fresh page: focus at its start
		k.waitText("New agent")
		k.keys("\t")
		if f := k.focused(); f != "a:Skip to content" {
			t.Errorf("first Tab: %q", f)
		}
		k.tabTo("a:Audit")
		k.keys("\r")
		k.waitView("Audit trail")
		k.tabTo("select:Action")
		k.keys("\u0301") // ArrowDown: the first action
		k.tabTo("button:Filter")
		k.keys("\r")
		k.waitJS("filtered", `location.hash.includes("action=mcp_server.create") && !document.querySelector(".loading") &&
			[...document.querySelectorAll("table.audit tbody [data-label=Action]")].every((x) => x.innerText === "mcp_server.create")`)
		k.clean()

		// A 401 (the key revoked meanwhile) sends the user back to sign-in.
		keys, err := st.ListAPIKeys(ctx, env.AppA)
		if err != nil {
			t.Fatal(err)
		}
		for _, kk := range keys {
			if strings.HasPrefix(key2, kk.Prefix) && kk.RevokedAt == 0 {
				if err := st.RevokeAPIKey(ctx, kk.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		k.tabTo("a:MCP servers")
		k.keys("\r")
		k.waitText("no longer accepts that API key")
		k.waitText("Sign in to agentmcp")
		if v := eval[string](k, `sessionStorage.getItem("agentmcp.apiKey") || ""`); v != "" {
			t.Fatal("the refused key is still kept")
		}
	})

	t.Run("blocked explained; a server that is gone is a readable failure", func(t *testing.T) {
		// The same store behind an agentmcp that probes public addresses only.
		srv := httptest.NewServer(apitest.New(t, st, app.Config{KeyCacheTTL: -1, Credentials: cfg.Credentials}).Handler())
		defer srv.Close()
		p := newTab(t, root)
		p.open(srv.URL + "/console/")
		p.fill("#main input[name=apikey]", env.KeyA)
		p.keys("\r")
		p.waitText("New MCP server")
		// In the page, not a navigation: the sign-in's own move to the list may land after a
		// navigation started here and undo it.
		eval[bool](p, `(location.hash = "#/servers/slow", true)`)
		p.waitText("Probe now")
		p.click(button("Probe now"))
		p.waitText("The address is private")
		p.waitText("--probe-allow-private")
		srv.CloseClientConnections()
		srv.Close()
		p.click(button("Probe now"))
		p.waitText("agentmcp could not be reached")
	})

	t.Run("agents: tool names, their conflict at the field, withheld tools", func(t *testing.T) {
		b.t = t
		for _, slug := range []string{"clash-a", "clash-b", "clash-c"} { // tools tool_0 and tool_1 each
			must(api.CreateServer(ctx, client.CreateMCPServer{Name: "Clash " + slug, Slug: slug, Url: apitest.MCPServer(t, 2)}))(t)
		}
		must(api.ProbeServer(ctx, "clash-a"))(t)
		must(api.ProbeServer(ctx, "clash-b"))(t)
		must(api.CreateAgent(ctx, client.CreateAgent{Uid: ptr("clash"), Name: "Clash", McpServers: &[]string{"clash-a", "clash-b"}}))(t)
		b.open(console + "#/agents/clash/edit")
		b.waitText("Save changes")
		b.choose("#toolNames", "original")
		b.click(button("Save changes"))
		b.waitJS("the conflict at the tool names", `document.querySelector("#toolNames").getAttribute("aria-invalid") === "true" &&
			document.querySelector("#toolNames").closest(".field").innerText.includes("tool_0")`)
		if a := must(api.GetAgent(ctx, "clash"))(t); a.Gateway.ToolNames != client.ToolNamesPrefixed {
			t.Fatalf("a refused switch changed the agent: %+v", a.Gateway)
		}
		b.axe("agent form with a conflict", axe)
		// clash-c offers nothing until probed; then its tools clash with clash-a's, attached first.
		must(api.CreateAgent(ctx, client.CreateAgent{Uid: ptr("late"), Name: "Late", McpServers: &[]string{"clash-a", "clash-c"},
			Gateway: &client.AgentGatewayInput{ToolNames: ptr(client.ToolNamesOriginal)}}))(t)
		must(api.ProbeServer(ctx, "clash-c"))(t)
		b.open(console + "#/agents/late")
		b.waitText("As each server names them")
		b.waitJS("the withheld tools", `[...document.querySelectorAll("#main section table.list tbody tr")].some((r) => r.innerText.includes("Withheld") && r.innerText.includes("clash-c"))`)
		// Attaching clash-b, whose tools clash with clash-a's, is refused with the names.
		b.click(button("Attach MCP servers"))
		b.waitJS("the picker", `document.querySelector("#pick-clash-b")`)
		b.click("#pick-clash-b")
		b.click(button("Attach"))
		b.waitJS("the refusal", `document.querySelector("#main form.picker").innerText.includes("both offer a tool named")`)
		if a := must(api.GetAgent(ctx, "late"))(t); !slices.Equal(a.McpServers, []string{"clash-a", "clash-c"}) {
			t.Fatalf("a refused attach changed the agent: %v", a.McpServers)
		}
		b.clean()
	})

	t.Run("sign out", func(t *testing.T) {
		b.t = t
		b.open(console + "#/servers")
		b.waitText("Sign out")
		b.click(button("Sign out"))
		b.waitText("You signed out.")
		if v := eval[string](b, `sessionStorage.getItem("agentmcp.apiKey") || ""`); v != "" {
			t.Fatal("the key is kept after signing out")
		}
		b.open(console + "#/agents")
		b.waitText("Sign in to agentmcp")
		b.clean()
	})
}

// must returns v, or fails the test with err.
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// fsWalk calls f with the name of every file of fsys.
func fsWalk(fsys fs.FS, f func(name string)) error {
	return fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			f(name)
		}
		return err
	})
}

func newKey(t *testing.T, st store.Store, app string) string {
	_, secret := apitest.NewKey(t, st, app, store.ScopeFullAccess)
	return secret
}

// gatewayStatus is the status of an initialize at agent uid's gateway with key.
func gatewayStatus(t *testing.T, env *apitest.Env, uid, key string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/ai-agents/agent-builder/agents/"+uid+"/mcp",
		strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// runGoSnippet builds and runs the console's Go snippet inside this module (so it uses the
// go-sdk of go.mod, offline) with the key in AGENTMCP_AGENT_KEY, and returns its output.
func runGoSnippet(t *testing.T, src, key string) string {
	t.Helper()
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("testdata", "snippet-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir); os.Remove("testdata") })
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", "./"+dir)
	cmd.Env = append(os.Environ(), "AGENTMCP_AGENT_KEY="+key, "GOPROXY=off", "GOFLAGS=-mod=readonly")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run the snippet: %v\n%s", err, out)
	}
	return string(out)
}

// showcaseMCP is a real MCP server (the official SDK) with tools that look like real ones.
func showcaseMCP(t *testing.T) string {
	t.Helper()
	s := mcp.NewServer(&mcp.Implementation{Name: "weather", Version: "1.4.0"}, nil)
	noop := func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "sunny"}}}, nil
	}
	city := map[string]any{"type": "string", "description": "City name, e.g. Lisbon"}
	s.AddTool(&mcp.Tool{Name: "get_forecast", Title: "Forecast", Description: "Get the forecast for a city, for up to 7 days.",
		InputSchema: map[string]any{"type": "object", "properties": map[string]any{"city": city, "days": map[string]any{"type": "integer", "minimum": 1, "maximum": 7}}, "required": []string{"city"}}}, noop)
	s.AddTool(&mcp.Tool{Name: "get_alerts", Title: "Weather alerts", Description: "Active weather alerts for a city.",
		InputSchema: map[string]any{"type": "object", "properties": map[string]any{"city": city}, "required": []string{"city"}}}, noop)
	s.AddTool(&mcp.Tool{Name: "list_cities", Description: "Cities with forecasts.", InputSchema: map[string]any{"type": "object"}}, noop)
	srv := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp"
}

// slowMCP is an MCP server whose every session starts after delay.
func slowMCP(t *testing.T, delay time.Duration) string {
	t.Helper()
	s := mcp.NewServer(&mcp.Implementation{Name: "slow", Version: "1"}, nil)
	s.AddTool(&mcp.Tool{Name: "wait", Description: "Waits.", InputSchema: map[string]any{"type": "object"}},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{}, nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Mcp-Session-Id") == "" && r.Method == http.MethodPost {
			time.Sleep(delay)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp"
}
