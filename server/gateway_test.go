package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/keyring"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/gateway"
	"github.com/agentmcp/agentmcp/store"
)

// upstream is a real go-sdk MCP server on loopback that records the headers it was sent.
type upstream struct {
	URL     string
	srv     *mcp.Server
	mu      sync.Mutex
	headers []http.Header
	opened  map[string]bool // the sessions the requests named
}

func (u *upstream) sawHeader(name, value string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, h := range u.headers {
		for _, v := range h.Values(name) {
			if strings.Contains(v, value) {
				return true
			}
		}
	}
	return false
}

// newUpstream serves tools named prefix_0… that answer "<name>:<arguments>", behind an
// optional required bearer token.
func newUpstream(t *testing.T, prefix string, n int, token string, handle mcp.ToolHandler) *upstream {
	t.Helper()
	u := &upstream{srv: mcp.NewServer(&mcp.Implementation{Name: prefix, Version: "1"}, nil)}
	for i := range n {
		name := fmt.Sprintf("%s_%d", prefix, i)
		h := handle
		if h == nil {
			h = func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name + ":" + string(req.Params.Arguments)}}}, nil
			}
		}
		u.srv.AddTool(&mcp.Tool{Name: name, Description: "tool " + name, InputSchema: map[string]any{"type": "object"}}, h)
	}
	mh := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return u.srv }, nil)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.headers = append(u.headers, r.Header.Clone())
		if id := r.Header.Get("Mcp-Session-Id"); id != "" {
			if u.opened == nil {
				u.opened = map[string]bool{}
			}
			u.opened[id] = true
		}
		u.mu.Unlock()
		if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fixture"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		mh.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { // the gateway may hold streams or a hanging call open: cut them
		hs.CloseClientConnections()
		hs.Close()
	})
	u.URL = hs.URL + "/mcp"
	return u
}

// bearerTransport sets the gateway key as MCP clients do.
type bearerTransport struct{ key string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return http.DefaultTransport.RoundTrip(r)
}

// gatewayClient connects an MCP client (the official SDK) to agent uid's gateway.
func gatewayClient(t *testing.T, env *apitest.Env, uid, key string, changed chan<- struct{}) *mcp.ClientSession {
	t.Helper()
	opts := &mcp.ClientOptions{}
	if changed != nil {
		opts.ToolListChangedHandler = func(context.Context, *mcp.ToolListChangedRequest) {
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, opts)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint:   env.URL + "/ai-agents/agent-builder/agents/" + uid + "/mcp",
		HTTPClient: &http.Client{Transport: bearerTransport{key}},
	}, nil)
	if err != nil {
		t.Fatalf("connect to the gateway: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func allTools(t *testing.T, cs *mcp.ClientSession) []*mcp.Tool {
	t.Helper()
	var out []*mcp.Tool
	for tool, err := range cs.Tools(context.Background(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tool)
	}
	return out
}

func text(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func gatewayEnv(t testing.TB, st store.Store, tweak ...func(*app.Config)) (*apitest.Env, *client.Client) {
	t.Helper()
	// The call timeout also bounds each upstream handshake: roomy enough for a loaded
	// machine's, so that only a hanging upstream runs out of it.
	cfg := app.Config{
		Credentials: testCredentials(t, st),
		Gateway:     gateway.Options{Connector: probe.New(probe.Options{AllowPrivate: true, Timeout: 5 * time.Second}), CallTimeout: 5 * time.Second, ToolsTTL: time.Hour},
		Prober:      probe.New(probe.Options{AllowPrivate: true, Timeout: 5 * time.Second}),
	}
	for _, f := range tweak {
		f(&cfg)
	}
	env := apitest.Start(t, st, cfg)
	return env, env.Client(t, env.KeyA)
}

// TestGateway: one endpoint serves the tools of every attached server, forwards calls to
// the right one with its stored credentials (never the caller's key), turns failures into
// tool errors naming the server, and tells open sessions when the tools change.
func TestGateway(t *testing.T) {
	st := apitest.OpenSQLite(t)
	env, c := gatewayEnv(t, st)
	ctx := context.Background()

	weather := newUpstream(t, "weather", 2, "", nil)
	secured := newUpstream(t, "secure", 1, "s3cret-upstream-token", nil)
	big := newUpstream(t, "big", 1200, "", nil)
	stop := make(chan struct{})
	hang := newUpstream(t, "hang", 1, "", func(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		return nil, ctx.Err()
	})
	t.Cleanup(func() { close(stop) }) // runs before the upstream's own cleanup
	fail := newUpstream(t, "fail", 1, "", func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return nil, fmt.Errorf("boom")
	})
	odd := newUpstream(t, "odd", 0, "", nil)
	odd.srv.AddTool(&mcp.Tool{Name: "get.weather forecast/ünï", InputSchema: map[string]any{"type": "object"}}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "odd"}}, StructuredContent: map[string]any{"k": 1.0}}, nil
	})
	bearer := "s3cret-upstream-token"
	for _, s := range []struct {
		slug string
		u    *upstream
		auth *gen.McpServerAuthInput
	}{
		{"weather", weather, nil}, {"secure", secured, &gen.McpServerAuthInput{Type: "bearer", Token: &bearer}},
		{"big", big, nil}, {"hang", hang, nil}, {"fail", fail, nil}, {"odd", odd, nil},
	} {
		if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: s.slug, Slug: s.slug, Url: s.u.URL, Auth: s.auth}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: "A", Uid: ptr("agent-1"), McpServers: &[]string{"weather", "secure", "odd"}}); err != nil {
		t.Fatal(err)
	}
	// This test follows the servers' own changes; TestRugPull holds what pinning withholds.
	if _, err := c.UpdateAgent(ctx, "agent-1", client.UpdateAgent{Gateway: &client.AgentGatewayInput{Pinning: ptr(gen.Off)}}); err != nil {
		t.Fatal(err)
	}

	changed := make(chan struct{}, 1)
	cs := gatewayClient(t, env, "agent-1", env.KeyA, changed)
	names := map[string]*mcp.Tool{}
	for _, tool := range allTools(t, cs) {
		names[tool.Name] = tool
	}
	oddName := gateway.ToolName("odd", "get.weather forecast/ünï")
	for _, want := range []string{"weather__weather_0", "weather__weather_1", "secure__secure_0", oddName} {
		if names[want] == nil {
			t.Fatalf("tools/list lacks %s: %v", want, names)
		}
	}
	settle(changed) // the first listing filled the tools: drop that news
	if len(names) != 4 || names["weather__weather_0"].Meta["agentmcp/server"] != "weather" || names[oddName].Meta["agentmcp/tool"] != "get.weather forecast/ünï" {
		t.Fatalf("tools: %v, meta %v", len(names), names["weather__weather_0"].Meta)
	}

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "weather__weather_1", Arguments: map[string]any{"city": "Paris"}})
	if err != nil || res.IsError || text(res) != `weather_1:{"city":"Paris"}` {
		t.Fatalf("call: %v %+v", err, res)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "secure__secure_0", Arguments: map[string]any{}})
	if err != nil || res.IsError || !strings.HasPrefix(text(res), "secure_0:") {
		t.Fatalf("call with stored credentials: %v %+v", err, res)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: oddName})
	if err != nil || res.IsError || text(res) != "odd" || res.StructuredContent.(map[string]any)["k"] != 1.0 {
		t.Fatalf("call of a renamed tool: %v %+v", err, res)
	}
	for _, u := range []*upstream{weather, secured, odd} {
		if u.sawHeader("Authorization", env.KeyA) || u.sawHeader("Apikey", env.KeyA) {
			t.Fatal("the caller's key reached an upstream server")
		}
	}
	// Upstream sessions are reused: one handshake for the catalogue (shared by every
	// agent), one for this client session's calls.
	for range 3 {
		if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "weather__weather_0"}); err != nil {
			t.Fatal(err)
		}
	}
	weather.mu.Lock()
	opened := len(weather.opened)
	weather.mu.Unlock()
	if opened != 2 {
		t.Fatalf("%d upstream sessions for the tool list and 4 calls, want 2", opened)
	}

	// Attach: list_changed, then the new tools (1,200 of them across pages).
	settle(changed)
	if _, err := c.AddMCPServers(ctx, "agent-1", "hang", "fail"); err != nil {
		t.Fatal(err)
	}
	waitChanged(t, changed, "attach")
	// 1,200 more tools: listed and registered with the race detector on a shared machine.
	settle(changed)
	if _, err := c.AddMCPServers(ctx, "agent-1", "big"); err != nil {
		t.Fatal(err)
	}
	waitChanged(t, changed, "attach of 1,200 tools")
	eventually(t, "the tools after the attach", func() error {
		return wantCount(len(allTools(t, cs)), 4+1200+2)
	})
	// The hanging call ends at the gateway's CallTimeout (5 s), never at the upstream's end:
	// the bound only leaves room for a loaded machine.
	start := time.Now()
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "hang__hang_0"})
	if err != nil || !res.IsError || !strings.Contains(text(res), `"hang"`) || time.Since(start) > time.Minute {
		t.Fatalf("hanging upstream: %v %+v after %s", err, res, time.Since(start))
	}
	// A server's JSON-RPC error reaches the client as that error.
	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "fail__fail_0"})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("failing upstream: %v", err)
	}
	if res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "weather__weather_0"}); err != nil || res.IsError {
		t.Fatalf("the others keep working: %v %+v", err, res)
	}

	// Detach: list_changed, and the tool is refused.
	settle(changed)
	if _, err := c.RemoveMCPServers(ctx, "agent-1", "weather"); err != nil {
		t.Fatal(err)
	}
	waitChanged(t, changed, "detach")
	eventually(t, "the detached tool refused", func() error {
		if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "weather__weather_0"}); err == nil {
			return errors.New("a detached tool was called")
		}
		return nil
	})
	// Deleting a server removes its tools too.
	settle(changed)
	if err := c.DeleteServer(ctx, "odd"); err != nil {
		t.Fatal(err)
	}
	waitChanged(t, changed, "delete")
	eventually(t, "the deleted server's tools gone", func() error {
		for _, tool := range allTools(t, cs) {
			if strings.HasPrefix(tool.Name, "odd__") || strings.HasPrefix(tool.Name, "weather__") {
				return fmt.Errorf("tool %s still listed", tool.Name)
			}
		}
		return nil
	})

	// A URL change: the server's tools become those at the new URL.
	settle(changed)
	if _, err := c.UpdateServer(ctx, "big", client.UpdateMCPServer{Url: &weather.URL}); err != nil {
		t.Fatal(err)
	}
	waitChanged(t, changed, "URL change")
	eventually(t, "the tools after the URL change", func() error {
		return wantCount(len(allTools(t, cs)), 2+1+1+1)
	})
	// New credentials: the next call uses them (the old session is dropped).
	settle(changed)
	wrong := "wrong-token"
	if _, err := c.UpdateServer(ctx, "secure", client.UpdateMCPServer{Auth: &gen.McpServerAuthInput{Type: "bearer", Token: &wrong}}); err != nil {
		t.Fatal(err)
	}
	waitChanged(t, changed, "credentials change")
	eventually(t, "the new credentials used", func() error {
		if res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "secure__secure_0"}); err == nil && !res.IsError {
			return fmt.Errorf("a call with replaced credentials still used the old ones: %+v", res)
		}
		return nil
	})
	// A probe that finds other tools.
	settle(changed)
	fail.srv.AddTool(&mcp.Tool{Name: "fail_new", InputSchema: map[string]any{"type": "object"}}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "new"}}}, nil
	})
	if _, err := c.ProbeServer(ctx, "fail"); err != nil {
		t.Fatal(err)
	}
	waitChanged(t, changed, "probe that found another tool")
	eventually(t, "the tool a probe found", func() error {
		if res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "fail__fail_new"}); err != nil || text(res) != "new" {
			return fmt.Errorf("%v %+v", err, res)
		}
		return nil
	})

	// Metrics per server and tool, never an argument.
	resp, err := http.Get(env.Server.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`agentmcp_gateway_calls_total{app_id="app-a",outcome="ok",server="weather",tool="weather_1"} 1`,
		`outcome="timeout",server="hang"`, `outcome="error",server="fail"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(string(body), "Paris") {
		t.Error("a tool argument reached /metrics")
	}
}

// settle drops the notifications already delivered, so the next one waited for is news of
// a later change.
func settle(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// listChangedWithin is how long a test waits for news of a change: the gateway sends it as
// soon as the change reaches it (through the store's change feed), so this only
// needs to cover a loaded machine, listing 1,200 tools with the race detector.
const listChangedWithin = 60 * time.Second

// eventually polls check until it passes: a list_changed heard may be the late news of an
// earlier change, so what a change promises is checked until it holds, within
// listChangedWithin.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(listChangedWithin)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %v after %s", what, err, listChangedWithin)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not synchronisation
	}
}

func wantCount(got, want int) error {
	if got != want {
		return fmt.Errorf("%d tools, want %d", got, want)
	}
	return nil
}

func waitChanged(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(listChangedWithin):
		t.Fatalf("no notifications/tools/list_changed within %s of the %s", listChangedWithin, what)
	}
}

// TestGatewayAuth: bearer or apikey; agent keys use their agent's gateway and nothing else;
// 401s carry WWW-Authenticate; another app's agent is not found.
func TestGatewayAuth(t *testing.T) {
	st := apitest.OpenSQLite(t)
	env, c := gatewayEnv(t, st)
	ctx := context.Background()
	for _, uid := range []string{"agent-1", "agent-2"} {
		if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: uid, Uid: ptr(uid)}); err != nil {
			t.Fatal(err)
		}
	}
	g := env.Gen(t, env.KeyA)
	kr, err := g.AgentKeysControllerCreateAgentKeyWithResponse(ctx, "agent-1", gen.CreateAgentKeyDto{Name: ptr("runtime")})
	if err != nil || kr.JSON201 == nil || !strings.HasPrefix(kr.JSON201.Secret, store.KeyPrefix) {
		t.Fatalf("mint agent key: %v %s", err, kr.Body)
	}
	agentKey := kr.JSON201.Secret

	post := func(uid string, set func(h http.Header)) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, env.URL+"/ai-agents/agent-builder/agents/"+uid+"/mcp",
			strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		set(req.Header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, c := range []struct {
		name   string
		uid    string
		set    func(http.Header)
		status int
	}{
		{"no key", "agent-1", func(http.Header) {}, 401},
		{"unknown key", "agent-1", func(h http.Header) { h.Set("Authorization", "Bearer amk_nope") }, 401},
		{"revoked key", "agent-1", func(h http.Header) { h.Set("apikey", env.Revoked) }, 401},
		{"authOnly key", "agent-1", func(h http.Header) { h.Set("apikey", env.AuthOnlyKey) }, 403},
		{"agent key, other agent", "agent-2", func(h http.Header) { h.Set("Authorization", "Bearer "+agentKey) }, 403},
		{"other app's key", "agent-1", func(h http.Header) { h.Set("apikey", env.KeyB) }, 404},
		{"agent key", "agent-1", func(h http.Header) { h.Set("Authorization", "Bearer "+agentKey) }, 200},
		{"fullAccess apikey", "agent-2", func(h http.Header) { h.Set("apikey", env.KeyA) }, 200},
	} {
		resp := post(c.uid, c.set)
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.status)
		}
		if c.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: no WWW-Authenticate", c.name)
		}
	}
	// An agent key can do nothing else.
	for _, op := range apitest.Ops("s", "agent-1") {
		if status, body := env.Do(t, op, agentKey); status != http.StatusForbidden {
			t.Errorf("agent key on %s %s: %d %s", op.Method, op.Path, status, body)
		}
	}
	// Listed without the secret; revoked, it stops.
	lr, _ := g.AgentKeysControllerListAgentKeysWithResponse(ctx, "agent-1")
	if lr.JSON200 == nil || len(lr.JSON200.Data) != 1 || strings.Contains(string(lr.Body), agentKey) {
		t.Fatalf("list agent keys: %s", lr.Body)
	}
	rr, _ := g.AgentKeysControllerRevokeAgentKeyWithResponse(ctx, "agent-1", lr.JSON200.Data[0].Id)
	if rr.StatusCode() != 200 {
		t.Fatalf("revoke: %s", rr.Body)
	}
	if resp := post("agent-1", func(h http.Header) { h.Set("Authorization", "Bearer "+agentKey) }); resp.StatusCode != 401 {
		t.Fatalf("revoked agent key: %d", resp.StatusCode)
	}
	if r, _ := g.AgentKeysControllerRevokeAgentKeyWithResponse(ctx, "agent-1", "key_00"); r.StatusCode() != 404 {
		t.Fatalf("revoke unknown: %d", r.StatusCode())
	}
	if r, _ := g.AgentKeysControllerListAgentKeysWithResponse(ctx, "no-such-agent"); r.StatusCode() != 404 {
		t.Fatalf("keys of unknown agent: %d", r.StatusCode())
	}
}

// testCredentials seals with a random local key.
func testCredentials(t testing.TB, st store.Store) *keyring.Service {
	return apitest.Credentials(t, st)
}
