package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/agentmcp/agentmcp/server"
	"github.com/agentmcp/agentmcp/server/registry"
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/cache"
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
		Schema      string   `json:"$schema"`
		Name        string   `json:"name"`
		Title       string   `json:"title"`
		Description string   `json:"description"`
		Version     string   `json:"version"`
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

func start(t *testing.T, cfg server.Config) *env {
	t.Helper()
	inner := apitest.OpenSQLite(t)
	e := &env{Env: apitest.Start(t, cache.New(inner, 1000), cfg), inner: inner}
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
	body := map[string]any{"uid": uid, "name": "Agent " + uid, "mcpServers": mcps}
	if st, b := e.Raw(t, http.MethodPost, "/ai-agents/agent-builder/agents", key, "application/json", apitest.JSON(t, body)); st != http.StatusCreated && st != http.StatusOK {
		t.Fatalf("create agent %s: %d %s", uid, st, b)
	}
}

// TestVSCodeSequence follows what VS Code does with chat.mcp.gallery.serviceUrl: it checks
// the version with ?limit=1, lists (version=latest, pages of 50), then reads each server's
// latest version by its URL-encoded name.
func TestVSCodeSequence(t *testing.T) {
	e := start(t, server.Config{})
	e.on(t, e.AppA, true)
	e.createServer(t, e.AppA, e.KeyA, "weather", "https://weather.example.com/mcp", "Forecasts", "https://weather.example.com/icon.png")
	e.createServer(t, e.AppA, e.KeyA, "legacy", "https://legacy.example.com/v1/sse/", "", "http://legacy.example.com/icon.png")
	e.createServer(t, e.AppA, e.KeyA, "long", "https://long.example.com/mcp", strings.Repeat("Très long é ", 30), "")
	e.createAgent(t, e.AppA, e.KeyA, "support", "weather", "legacy")
	base := e.base(e.AppA)
	host := strings.TrimPrefix(e.Server.URL, "http://")
	ns := registry.Namespace(host, e.AppA)
	if ns != "127.0.0.1.app-a" {
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
	if r.Type != "streamable-http" || r.URL != e.Server.URL+"/v3/ai-agents/agent-builder/agents/support/mcp" ||
		len(r.Headers) != 1 || r.Headers[0].Name != "Authorization" || !r.Headers[0].IsRequired ||
		a.Meta.AgentMCP.Kind != "agent" || a.Meta.AgentMCP.UID != "support" || !*a.Meta.AgentMCP.IsActive ||
		!slices.Equal(a.Meta.AgentMCP.MCPServers, []string{"weather", "legacy"}) {
		t.Fatalf("agent: %+v", a)
	}
}
