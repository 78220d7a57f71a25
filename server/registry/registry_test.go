package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/server/registry"
	"github.com/agentmcp/agentmcp/store"
)

const serverSchemaURL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"

// schemas are the official registry's: server.json, and the API's ServerList and
// ServerResponse (testdata, with their licence).
var schemas = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	raw, err := os.ReadFile("testdata/server.schema.json")
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	if err := c.AddResource(serverSchemaURL, doc); err != nil {
		return nil, err
	}
	y, err := os.ReadFile("testdata/registry-openapi.yaml")
	if err != nil {
		return nil, err
	}
	var spec any
	if err := yaml.Unmarshal(y, &spec); err != nil {
		return nil, err
	}
	j, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	if doc, err = jsonschema.UnmarshalJSON(bytes.NewReader(j)); err != nil {
		return nil, err
	}
	const api = "file:///registry-openapi.json"
	if err := c.AddResource(api, doc); err != nil {
		return nil, err
	}
	out := map[string]*jsonschema.Schema{}
	for name, loc := range map[string]string{"server.json": serverSchemaURL, "ServerList": api + "#/components/schemas/ServerList",
		"ServerResponse": api + "#/components/schemas/ServerResponse"} {
		if out[name], err = c.Compile(loc); err != nil {
			return nil, err
		}
	}
	return out, nil
})

func validate(t *testing.T, schema string, body []byte) {
	t.Helper()
	s, err := schemas()
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("not JSON: %v: %s", err, body)
	}
	if err := s[schema].Validate(v); err != nil {
		t.Fatalf("not a valid %s: %v\n%s", schema, err, body)
	}
}

// Wire shapes, decoded strictly: a field the official types do not have is a failure.
type (
	official struct {
		Status          string `json:"status"`
		StatusChangedAt string `json:"statusChangedAt"`
		PublishedAt     string `json:"publishedAt"`
		UpdatedAt       string `json:"updatedAt"`
		IsLatest        bool   `json:"isLatest"`
	}
	input struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		IsRequired  bool   `json:"isRequired"`
		IsSecret    bool   `json:"isSecret"`
		Placeholder string `json:"placeholder"`
		Value       string `json:"value"`
	}
	remote struct {
		Type      string           `json:"type"`
		URL       string           `json:"url"`
		Headers   []input          `json:"headers"`
		Variables map[string]input `json:"variables"`
	}
	serverJSON struct {
		Schema      string `json:"$schema"`
		Name        string `json:"name"`
		Title       string `json:"title"`
		Description string `json:"description"`
		Version     string `json:"version"`
		Icons       []struct {
			Src string `json:"src"`
		} `json:"icons"`
		Remotes []remote `json:"remotes"`
	}
	health struct {
		Status    string `json:"status"`
		CheckedAt int64  `json:"checkedAt"`
		ToolCount int    `json:"toolCount"`
	}
	meta struct {
		Kind       string   `json:"kind"`
		Slug       string   `json:"slug"`
		UID        string   `json:"uid"`
		Health     *health  `json:"health"`
		IsActive   *bool    `json:"isActive"`
		MCPServers []string `json:"mcpServers"`
	}
	entry struct {
		Server serverJSON `json:"server"`
		Meta   struct {
			Official *official `json:"io.modelcontextprotocol.registry/official"`
			AgentMCP *meta     `json:"agentmcp"`
		} `json:"_meta"`
	}
	list struct {
		Servers  []entry `json:"servers"`
		Metadata struct {
			NextCursor string `json:"nextCursor"`
			Count      int    `json:"count"`
		} `json:"metadata"`
	}
	problem struct {
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
		Error  string `json:"error"`
		Errors []struct {
			Message  string `json:"message"`
			Location string `json:"location"`
			Value    any    `json:"value"`
		} `json:"errors"`
	}
)

func strict(t *testing.T, body []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %T: %v\n%s", v, err, body)
	}
}

// env is agentmcp over a cached SQLite store, as `agentmcp serve` runs it; inner is the store
// under the cache, which admin commands of another process write to.
type env struct {
	*apitest.Env
	inner store.Store
}

func start(t *testing.T, cfg app.Config) *env {
	t.Helper()
	inner := apitest.OpenSQLite(t)
	e := &env{Env: apitest.Start(t, inner, cfg), inner: inner}
	return e
}

func (e *env) base(app string) string { return e.Server.URL + registry.Prefix + "/" + app }

func (e *env) on(t *testing.T, app string, on bool) {
	t.Helper()
	if err := e.inner.SetRegistry(context.Background(), app, on); err != nil {
		t.Fatal(err)
	}
}

// get requests a registry URL and checks what every answer of it has.
func (e *env) get(t *testing.T, rawURL string) (int, []byte) {
	t.Helper()
	return e.do(t, http.MethodGet, rawURL)
}

func (e *env) do(t *testing.T, method, rawURL string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "vscode-webview://abc")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Fatalf("%s %s: Access-Control-Allow-Origin %q", method, rawURL, got)
	}
	if resp.StatusCode >= 400 && method != http.MethodHead {
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s %s: %d with Content-Type %q", method, rawURL, resp.StatusCode, ct)
		}
		var p problem
		strict(t, body, &p)
		if p.Status != resp.StatusCode || p.Title != http.StatusText(p.Status) || p.Detail == "" || p.Error != p.Detail {
			t.Fatalf("%s %s: problem %+v", method, rawURL, p)
		}
	}
	return resp.StatusCode, body
}

func (e *env) list(t *testing.T, rawURL string) list {
	t.Helper()
	st, body := e.get(t, rawURL)
	if st != http.StatusOK {
		t.Fatalf("GET %s: %d %s", rawURL, st, body)
	}
	validate(t, "ServerList", body)
	var l list
	strict(t, body, &l)
	if l.Metadata.Count != len(l.Servers) {
		t.Fatalf("count %d for %d servers", l.Metadata.Count, len(l.Servers))
	}
	for _, s := range l.Servers {
		checkEntry(t, s)
	}
	var raw struct {
		Servers []struct {
			Server json.RawMessage `json:"server"`
		} `json:"servers"`
	}
	json.Unmarshal(body, &raw)
	for _, s := range raw.Servers {
		validate(t, "server.json", s.Server)
	}
	return l
}

func (e *env) one(t *testing.T, rawURL string) entry {
	t.Helper()
	st, body := e.get(t, rawURL)
	if st != http.StatusOK {
		t.Fatalf("GET %s: %d %s", rawURL, st, body)
	}
	validate(t, "ServerResponse", body)
	var r struct {
		Server json.RawMessage `json:"server"`
	}
	json.Unmarshal(body, &r)
	validate(t, "server.json", r.Server)
	var en entry
	strict(t, body, &en)
	checkEntry(t, en)
	return en
}

func checkEntry(t *testing.T, en entry) {
	t.Helper()
	o := en.Meta.Official
	if o == nil || o.Status != "active" || !o.IsLatest || o.PublishedAt == "" || en.Meta.AgentMCP == nil {
		t.Fatalf("_meta of %s: %+v %+v", en.Server.Name, o, en.Meta.AgentMCP)
	}
	if len(en.Server.Remotes) != 1 {
		t.Fatalf("%s: remotes %+v", en.Server.Name, en.Server.Remotes)
	}
	for _, h := range en.Server.Remotes[0].Headers {
		if !h.IsSecret || h.Value != "" {
			t.Fatalf("%s: header %+v", en.Server.Name, h)
		}
	}
}

func latestURL(base, name string) string {
	return base + "/v0.1/servers/" + url.PathEscape(name) + "/versions/latest"
}

func (e *env) createServer(t *testing.T, app, key, slug, rawURL, desc, icon string) {
	t.Helper()
	body := map[string]any{"name": "Server " + slug, "slug": slug, "url": rawURL, "description": desc, "icon": icon}
	if st, b := e.Raw(t, http.MethodPost, "/ai-agents/agent-builder/mcp-servers", key, "application/json", apitest.JSON(t, body)); st != http.StatusCreated && st != http.StatusOK {
		t.Fatalf("create %s: %d %s", slug, st, b)
	}
}

func (e *env) createAgent(t *testing.T, app, key, uid string, mcps ...string) {
	t.Helper()
	body := map[string]any{"uid": uid, "name": "Agent " + uid, "mcpServers": append([]string{}, mcps...)}
	if st, b := e.Raw(t, http.MethodPost, "/ai-agents/agent-builder/agents", key, "application/json", apitest.JSON(t, body)); st != http.StatusCreated && st != http.StatusOK {
		t.Fatalf("create agent %s: %d %s", uid, st, b)
	}
}

// TestVSCodeSequence follows what VS Code does with chat.mcp.gallery.serviceUrl: it checks
// the version with ?limit=1, lists (version=latest, pages of 50), then reads each server's
// latest version by its URL-encoded name.
func TestVSCodeSequence(t *testing.T) {
	e := start(t, app.Config{})
	e.on(t, e.AppA, true)
	e.createServer(t, e.AppA, e.KeyA, "weather", "https://weather.example.com/mcp", "Forecasts", "https://weather.example.com/icon.png")
	e.createServer(t, e.AppA, e.KeyA, "legacy", "https://legacy.example.com/v1/sse/", "", "http://legacy.example.com/icon.png")
	e.createServer(t, e.AppA, e.KeyA, "long", "https://long.example.com/mcp", strings.Repeat("Très long é ", 30), "")
	e.createAgent(t, e.AppA, e.KeyA, "support", "weather", "legacy")
	base := e.base(e.AppA)
	ns := registry.Namespace("localhost", e.AppA) // no PublicURL: http://localhost, never the request's Host
	if ns != "localhost.app-a" {
		t.Fatalf("namespace %q", ns)
	}

	first := e.list(t, base+"/v0.1/servers?limit=1")
	if len(first.Servers) != 1 || first.Metadata.NextCursor == "" {
		t.Fatalf("limit=1: %+v", first)
	}
	all := e.list(t, base+"/v0.1/servers?limit=50&version=latest")
	var names []string
	for _, s := range all.Servers {
		names = append(names, s.Server.Name)
	}
	want := []string{ns + "/agent.support", ns + "/legacy", ns + "/long", ns + "/weather"}
	if !slices.Equal(names, want) || all.Metadata.NextCursor != "" {
		t.Fatalf("list: %v (next %q), want %v", names, all.Metadata.NextCursor, want)
	}
	byName := map[string]entry{}
	for _, s := range all.Servers {
		got := e.one(t, latestURL(base, s.Server.Name))
		if !reflect.DeepEqual(got, s) {
			t.Fatalf("latest of %s:\n%+v\nin the list:\n%+v", s.Server.Name, got, s)
		}
		byName[s.Server.Name] = got
	}

	w := byName[ns+"/weather"]
	if r := w.Server.Remotes[0]; r.Type != "streamable-http" || r.URL != "https://weather.example.com/mcp" || len(r.Headers) != 0 ||
		w.Server.Title != "Server weather" || w.Server.Description != "Forecasts" || len(w.Server.Icons) != 1 ||
		w.Meta.AgentMCP.Kind != "mcpServer" || w.Meta.AgentMCP.Slug != "weather" || w.Meta.AgentMCP.Health != nil {
		t.Fatalf("weather: %+v", w)
	}
	if l := byName[ns+"/legacy"]; l.Server.Remotes[0].Type != "sse" || len(l.Server.Icons) != 0 || l.Server.Description != "MCP server Server legacy" {
		t.Fatalf("legacy (path ends in /sse, icon over http, no description): %+v", l)
	}
	if d := byName[ns+"/long"].Server.Description; len([]rune(d)) != 100 || !strings.HasSuffix(d, "…") {
		t.Fatalf("long description cut to %d characters: %q", len([]rune(d)), d)
	}
	a := byName[ns+"/agent.support"]
	r := a.Server.Remotes[0]
	if r.Type != "streamable-http" || r.URL != "http://localhost/v3/ai-agents/agent-builder/agents/support/mcp" ||
		len(r.Headers) != 1 || r.Headers[0].Name != "Authorization" || !r.Headers[0].IsRequired ||
		a.Meta.AgentMCP.Kind != "agent" || a.Meta.AgentMCP.UID != "support" || !*a.Meta.AgentMCP.IsActive ||
		!slices.Equal(a.Meta.AgentMCP.MCPServers, []string{"weather", "legacy"}) {
		t.Fatalf("agent: %+v", a)
	}
}

// The harness itself: the schemas reject what the registry must never send.
func TestSchemasReject(t *testing.T) {
	s, err := schemas()
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		`{"$schema":"` + serverSchemaURL + `","name":"no slash","description":"d","version":"1"}`,
		`{"$schema":"` + serverSchemaURL + `","name":"a.b/c","description":"` + strings.Repeat("x", 101) + `","version":"1"}`,
		`{"$schema":"` + serverSchemaURL + `","name":"a.b/c","description":"d","version":"1","remotes":[{"type":"websocket","url":"https://x"}]}`,
	} {
		v, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if s["server.json"].Validate(v) == nil {
			t.Errorf("server.json schema accepts %s", bad)
		}
	}
}

// Every page walk, at every page size, with and without a search, gives each entry once, in
// name order, and ends without a cursor.
func TestPaginationWalks(t *testing.T) {
	e := start(t, app.Config{})
	e.on(t, e.AppA, true)
	var all []string
	for i := range 13 {
		slug := fmt.Sprintf("s%02d", i)
		if i%3 == 0 {
			slug = fmt.Sprintf("b-%02d", i) // after every agent's name
		}
		if i%4 == 0 {
			slug = fmt.Sprintf("a%02d", i) // before every agent's name
		}
		e.createServer(t, e.AppA, e.KeyA, slug, "https://"+slug+".example.com/mcp", "", "")
		all = append(all, slug)
	}
	for i := range 7 {
		uid := fmt.Sprintf("u%02d", i)
		e.createAgent(t, e.AppA, e.KeyA, uid)
		all = append(all, "agent."+uid)
	}
	e.createServer(t, e.AppB, e.KeyB, "other", "https://other.example.com/mcp", "", "")
	e.on(t, e.AppB, true)
	slices.Sort(all)
	base := e.base(e.AppA)
	walk := func(query string, limit int) []string {
		var got []string
		next := ""
		for range len(all) + 2 {
			u := fmt.Sprintf("%s/v0.1/servers?limit=%d%s", base, limit, query)
			if next != "" {
				u += "&cursor=" + next // as VS Code sends it: not escaped
			}
			l := e.list(t, u)
			if len(l.Servers) > limit {
				t.Fatalf("%s: %d servers", u, len(l.Servers))
			}
			for _, s := range l.Servers {
				_, part, _ := strings.Cut(s.Server.Name, "/")
				got = append(got, part)
			}
			if next = l.Metadata.NextCursor; next == "" {
				return got
			}
		}
		t.Fatalf("walk %q by %d does not end", query, limit)
		return nil
	}
	for limit := 1; limit <= 8; limit++ {
		if got := walk("", limit); !slices.Equal(got, all) {
			t.Fatalf("by %d: %v\nwant %v", limit, got, all)
		}
	}
	var agents []string
	for _, n := range all {
		if strings.HasPrefix(n, "agent.") {
			agents = append(agents, n)
		}
	}
	if got := walk("&search=AGENT", 2); !slices.Equal(got, agents) {
		t.Fatalf("search AGENT: %v, want %v", got, agents)
	}
	if got := walk("&search=nothing-like-it", 3); len(got) != 0 {
		t.Fatalf("search: %v", got)
	}
	if got := walk("", 100); !slices.Equal(got, all) {
		t.Fatalf("default: %v", got)
	}
}

func TestRoutes(t *testing.T) {
	e := start(t, app.Config{})
	e.on(t, e.AppA, true)
	e.createServer(t, e.AppA, e.KeyA, "weather", "https://weather.example.com/mcp", "Forecasts", "")
	e.createAgent(t, e.AppA, e.KeyA, "support", "weather")
	base := e.base(e.AppA)
	ns := registry.Namespace("localhost", e.AppA)
	for _, name := range []string{ns + "/weather", ns + "/agent.support"} {
		enc := url.PathEscape(name)
		vs := e.list(t, base+"/v0.1/servers/"+enc+"/versions")
		if len(vs.Servers) != 1 || vs.Servers[0].Server.Name != name || vs.Metadata.NextCursor != "" {
			t.Fatalf("versions of %s: %+v", name, vs)
		}
		v := vs.Servers[0].Server.Version
		latest := e.one(t, base+"/v0.1/servers/"+enc+"/versions/latest")
		exact := e.one(t, base+"/v0.1/servers/"+enc+"/versions/"+url.PathEscape(v))
		raw := e.one(t, base+"/v0.1/servers/"+name+"/versions/latest") // the '/' not escaped
		if !reflect.DeepEqual(latest, exact) || !reflect.DeepEqual(latest, raw) || !reflect.DeepEqual(latest, vs.Servers[0]) {
			t.Fatalf("%s: latest, exact, unescaped and versions differ", name)
		}
		if l := e.list(t, base+"/v0.1/servers?version="+url.QueryEscape(v)); len(l.Servers) != 1 || l.Servers[0].Server.Name != name {
			t.Fatalf("list at version %s: %+v", v, l)
		}
		if st, _ := e.get(t, base+"/v0.1/servers/"+enc+"/versions/1.0.0"); st != http.StatusNotFound {
			t.Fatalf("%s at another version: %d", name, st)
		}
		if st, _ := e.do(t, http.MethodHead, base+"/v0.1/servers/"+enc+"/versions/latest"); st != http.StatusOK {
			t.Fatalf("HEAD: %d", st)
		}
	}
	for _, path := range []string{
		"/v0.1/servers/" + url.PathEscape(ns+"/nope") + "/versions/latest",
		"/v0.1/servers/" + url.PathEscape(ns+"/nope") + "/versions",
		"/v0.1/servers/" + url.PathEscape("com.example.other/weather") + "/versions/latest", // another namespace
		"/v0.1/servers/" + url.PathEscape(ns+"/agent.nope") + "/versions/latest",
		"/v0.1/servers/" + url.PathEscape(ns+"/WEATHER") + "/versions/latest",
		"/v0.1/servers/" + url.PathEscape(ns+"/"+strings.Repeat("a", 300)) + "/versions/latest",
		"/v0.1/servers/weather",
		"/v0.1/servers/x/versions/latest/more",
		"/v0/servers",
		"/v0.1/nothing",
	} {
		if st, body := e.get(t, base+path); st != http.StatusNotFound {
			t.Errorf("GET %s: %d %s", path, st, body)
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		if st, body := e.do(t, m, base+"/v0.1/servers"); st != http.StatusNotImplemented {
			t.Errorf("%s: %d %s, want 501 (the registry spec's answer to a write it does not support)", m, st, body)
		}
	}
	req, _ := http.NewRequest(http.MethodOptions, base+"/v0.1/servers", nil)
	req.Header.Set("Origin", "vscode-webview://x")
	req.Header.Set("Access-Control-Request-Method", "GET")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "GET") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

// An app whose view is off answers exactly like one that does not exist, on every route;
// switching it (from another process, under the running server's cache) and deleting or
// changing a server show at the next request.
func TestOffAndChangesAtOnce(t *testing.T) {
	e := start(t, app.Config{})
	e.createServer(t, e.AppA, e.KeyA, "weather", "https://weather.example.com/mcp", "Forecasts", "")
	ns := registry.Namespace("localhost", e.AppA)
	name := url.PathEscape(ns + "/weather")
	paths := []string{"/v0.1/servers", "/v0.1/servers?limit=1&search=x", "/v0.1/servers/" + name + "/versions",
		"/v0.1/servers/" + name + "/versions/latest", "/v0.1/servers/x", "/v0.1/servers/" + name + "/versions/9"}
	answers := func(app string) []string {
		var out []string
		for _, p := range paths {
			st, body := e.get(t, e.base(app)+p)
			out = append(out, fmt.Sprint(st, " ", string(body)))
		}
		return out
	}
	off, missing, bad := answers(e.AppA), answers("no-such-app"), answers("bad%20app")
	if !slices.Equal(off, missing) || !slices.Equal(off, bad) || !strings.HasPrefix(off[0], "404 ") {
		t.Fatalf("off:\n%v\nmissing:\n%v\ninvalid:\n%v", off, missing, bad)
	}
	// the app's REST API is not affected, and reads fill the cache
	if st, _ := e.Raw(t, http.MethodGet, "/ai-agents/agent-builder/mcp-servers/weather", e.KeyA, "", nil); st != http.StatusOK {
		t.Fatal(st)
	}
	e.on(t, e.AppA, true)
	latest := e.base(e.AppA) + "/v0.1/servers/" + name + "/versions/latest"
	before := e.one(t, latest)
	if body := map[string]any{"description": "Forecasts, now hourly"}; true {
		if st, b := e.Raw(t, http.MethodPatch, "/ai-agents/agent-builder/mcp-servers/weather", e.KeyA, "application/json", apitest.JSON(t, body)); st != http.StatusOK {
			t.Fatalf("patch: %d %s", st, b)
		}
	}
	after := e.one(t, latest)
	if after.Server.Version == before.Server.Version || after.Server.Description != "Forecasts, now hourly" {
		t.Fatalf("after an update: %+v (before %s)", after.Server, before.Server.Version)
	}
	if st, _ := e.get(t, e.base(e.AppA)+"/v0.1/servers/"+name+"/versions/"+url.PathEscape(before.Server.Version)); st != http.StatusNotFound {
		t.Fatalf("the old version: %d", st)
	}
	if err := e.inner.SaveProbe(context.Background(), e.AppA, "weather", store.ProbeRecord{Status: "ok", CheckedAt: 1234, ToolCount: 7}); err != nil {
		t.Fatal(err)
	}
	if h := e.one(t, latest).Meta.AgentMCP.Health; h == nil || *h != (health{Status: "ok", CheckedAt: 1234, ToolCount: 7}) {
		t.Fatalf("health: %+v", h)
	}
	e.on(t, e.AppA, false)
	if got := answers(e.AppA); !slices.Equal(got, missing) {
		t.Fatalf("switched off: %v", got)
	}
	e.on(t, e.AppA, true)
	if st, b := e.Raw(t, http.MethodDelete, "/ai-agents/agent-builder/mcp-servers/weather", e.KeyA, "", nil); st != http.StatusOK && st != http.StatusNoContent {
		t.Fatalf("delete: %d %s", st, b)
	}
	if st, _ := e.get(t, latest); st != http.StatusNotFound {
		t.Fatalf("deleted server: %d", st)
	}
	if l := e.list(t, e.base(e.AppA)+"/v0.1/servers"); len(l.Servers) != 0 {
		t.Fatalf("deleted server listed: %+v", l)
	}
}

func TestBadParameters(t *testing.T) {
	e := start(t, app.Config{})
	e.on(t, e.AppA, true)
	base := e.base(e.AppA) + "/v0.1/servers?"
	for q, want := range map[string]struct {
		status int
		loc    string
	}{
		"limit=0":                              {422, "query.limit"},
		"limit=101":                            {422, "query.limit"},
		"limit=ten":                            {422, "query.limit"},
		"limit=99999999999999999999":           {422, "query.limit"},
		"cursor=" + url.QueryEscape("a/b c"):   {422, "query.cursor"},
		"cursor=x/" + strings.Repeat("a", 300): {422, "query.cursor"},
		"search=" + strings.Repeat("s", 201):   {422, "query.search"},
		"include_deleted=maybe":                {422, "query.include_deleted"},
		"updated_since=yesterday":              {400, "query.updated_since"},
	} {
		st, body := e.get(t, base+q)
		var p problem
		strict(t, body, &p)
		if st != want.status || len(p.Errors) != 1 || p.Errors[0].Location != want.loc {
			t.Errorf("?%s: %d %s", q, st, body)
		}
	}
	if st, body := e.get(t, base+"limit=0&cursor=%20"); st != 422 || !strings.Contains(string(body), "query.limit") || !strings.Contains(string(body), "query.cursor") {
		t.Errorf("every problem named: %d %s", st, body)
	}
	e.createServer(t, e.AppA, e.KeyA, "old", "https://old.example.com/mcp", "", "")
	l := e.list(t, base)
	since := l.Servers[0].Meta.Official.UpdatedAt
	e.createServer(t, e.AppA, e.KeyA, "new", "https://new.example.com/mcp", "", "")
	for q, want := range map[string]int{"updated_since=" + url.QueryEscape(since): 1, "updated_since=2000-01-01T00:00:00Z": 2,
		"updated_since=2999-01-01T00:00:00Z": 0, "include_deleted=true&version=latest": 2} {
		if l := e.list(t, base+q); len(l.Servers) != want {
			t.Errorf("?%s: %d servers, want %d", q, len(l.Servers), want)
		}
	}
}

// Nothing but these routes sends CORS headers, whatever the request's Origin.
func TestNoCORSElsewhere(t *testing.T) {
	e := start(t, app.Config{})
	for _, p := range []string{"/v3/ai-agents/agent-builder/mcp-servers", "/healthz", "/readyz", "/openapi.yaml", "/docs/", "/metrics", "/nope", "/registryx"} {
		for _, m := range []string{http.MethodGet, http.MethodOptions} {
			req, _ := http.NewRequest(m, e.Server.URL+p, nil)
			req.Header.Set("Origin", "https://evil.example.com")
			req.Header.Set("apikey", e.KeyA)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			for k := range resp.Header {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Errorf("%s %s: %s: %s", m, p, k, resp.Header.Get(k))
				}
			}
		}
	}
}

// No secret of a registered URL reaches a reader without a key: no query value is
// published (each parameter becomes a variable the editor asks for), nor the fragment.
func TestNoSecrets(t *testing.T) {
	e := start(t, app.Config{})
	e.on(t, e.AppA, true)
	e.createServer(t, e.AppA, e.KeyA, "leaky", "https://leaky.example.com/mcp?api_key=SECRET1&region=SECRET4&Access-Token=SECRET2&sig=SECRET3&x=SECRET5&code=SECRET6&k=SECRET7#frag", "", "")
	st, body := e.get(t, e.base(e.AppA)+"/v0.1/servers")
	for _, s := range []string{"SECRET", "frag", e.KeyA} {
		if st != http.StatusOK || strings.Contains(string(body), s) {
			t.Fatalf("%d: %q in %s", st, s, body)
		}
	}
	l := e.list(t, e.base(e.AppA)+"/v0.1/servers")
	r := l.Servers[0].Server.Remotes[0]
	if r.URL != "https://leaky.example.com/mcp?api_key={param_api_key}&region={param_region}&Access-Token={param_AccessToken}&sig={param_sig}&x={param_x}&code={param_code}&k={param_k}" || len(r.Variables) != 7 {
		t.Fatalf("remote: %+v", r)
	}
	for name, v := range r.Variables {
		if !v.IsSecret || !v.IsRequired || v.Value != "" {
			t.Fatalf("variable %s: %+v", name, v)
		}
	}
}

// PublicURL names agentmcp as editors reach it, whatever the request's Host or forwarding
// headers say (a shared cache would keep what a forged Host made).
func TestPublicURL(t *testing.T) {
	e := start(t, app.Config{PublicURL: "https://MCP.Example.com:8443/base/"})
	e.on(t, e.AppA, true)
	e.createAgent(t, e.AppA, e.KeyA, "support")
	req, _ := http.NewRequest(http.MethodGet, e.base(e.AppA)+"/v0.1/servers", nil)
	req.Host = "evil.example"
	req.Header.Set("X-Forwarded-Host", "evil.example")
	req.Header.Set("X-Forwarded-Proto", "http")
	req.Header.Set("Forwarded", "host=evil.example;proto=http")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l struct {
		Servers []struct {
			Server struct {
				Name    string
				Remotes []struct{ URL string }
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		t.Fatal(err)
	}
	if len(l.Servers) != 1 || l.Servers[0].Server.Name != "com.example.mcp.app-a/agent.support" ||
		l.Servers[0].Server.Remotes[0].URL != "https://MCP.Example.com:8443/base/v3/ai-agents/agent-builder/agents/support/mcp" {
		t.Fatalf("%+v", l)
	}
	// Without a PublicURL: http://localhost, still not the request's Host.
	d := start(t, app.Config{})
	d.on(t, d.AppA, true)
	d.createAgent(t, d.AppA, d.KeyA, "support")
	req, _ = http.NewRequest(http.MethodGet, d.base(d.AppA)+"/v0.1/servers", nil)
	req.Host = "evil.example"
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	if b, _ := io.ReadAll(resp2.Body); strings.Contains(string(b), "evil") || !strings.Contains(string(b), `"localhost.app-a/agent.support"`) {
		t.Fatalf("without a PublicURL: %s", b)
	}
	for _, bad := range []string{"ftp://x", "https://", "https://u:p@x", "https://x/?q=1", "::"} {
		if a, err := app.New(context.Background(), app.Config{Store: e.inner, PublicURL: bad}); err == nil {
			a.Close(context.Background())
			t.Errorf("PublicURL %q accepted", bad)
		}
	}
}

func TestNamespace(t *testing.T) {
	for _, c := range []struct{ host, app, want string }{
		{"mcp.example.com", "acme", "com.example.mcp.acme"},
		{"mcp.example.com:8080", "acme", "com.example.mcp.acme"},
		{"localhost:8080", "my_app", "localhost.my-app"},
		{"127.0.0.1:80", "a", "127.0.0.1.a"},
		{"[::1]:80", "a", "ip6---1.a"},
		{"", "a", "a"},
	} {
		if got := registry.Namespace(c.host, c.app); got != c.want {
			t.Errorf("Namespace(%q, %q) = %q, want %q", c.host, c.app, got, c.want)
		}
	}
	long := registry.Namespace(strings.Repeat("abcdefghi.", 25)+"com", strings.Repeat("x", 100))
	if len(long) > 200-1-len("agent.")-100 || long != registry.Namespace(strings.Repeat("abcdefghi.", 25)+"com", strings.Repeat("x", 100)) {
		t.Fatalf("long namespace %d: %q", len(long), long)
	}
}

// BenchmarkList: one page of 30 (of 200 servers and 50 agents) as VS Code asks for it.
func BenchmarkList(b *testing.B) {
	inner := apitest.OpenSQLite(b)
	a := apitest.New(b, inner, app.Config{})
	st := a.Store()
	ctx := context.Background()
	if _, err := st.CreateApp(ctx, "a"); err != nil {
		b.Fatal(err)
	}
	for i := range 200 {
		if _, err := st.CreateMCPServer(ctx, "a", store.NewMCPServer{Slug: fmt.Sprintf("s%03d", i), Name: "S", URL: "https://s.example.com/mcp"}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 50 {
		if _, err := st.CreateAgent(ctx, store.Agent{AppID: "a", UID: fmt.Sprintf("a%03d", i), Name: "A", RagVersion: "v2"}); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.SetRegistry(ctx, "a", true); err != nil {
		b.Fatal(err)
	}
	h := a.Handler()
	req, _ := http.NewRequest(http.MethodGet, "http://localhost"+registry.Prefix+"/a/v0.1/servers?limit=30&version=latest&cursor=localhost.a/s100", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := &discard{h: http.Header{}}
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatal(w.status)
		}
	}
}

type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(s int)           { d.status = s }
