package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/gateway"
	"github.com/agentmcp/agentmcp/store"
)

// upstreamServer is a real go-sdk MCP server with a tool "echo" and a tool "strict" that
// answers bad arguments with the JSON-RPC error -32602; while hold is set its handshakes
// (initialize) wait for release.
type upstreamServer struct {
	URL     string
	srv     *mcp.Server
	hold    atomic.Bool
	release chan struct{}
}

func newUpstreamServer(t *testing.T, name string) *upstreamServer {
	t.Helper()
	u := &upstreamServer{srv: mcp.NewServer(&mcp.Implementation{Name: name, Version: "1"}, nil), release: make(chan struct{})}
	u.srv.AddTool(&mcp.Tool{Name: "echo", InputSchema: map[string]any{"type": "object"}}, func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name + ":" + string(req.Params.Arguments)}}}, nil
	})
	u.srv.AddTool(&mcp.Tool{Name: "strict", InputSchema: map[string]any{"type": "object"}}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "bad arguments"}
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return u.srv }, nil)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u.hold.Load() && r.Method == http.MethodPost && r.Header.Get("Mcp-Session-Id") == "" {
			select {
			case <-u.release:
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
	})
	u.URL = hs.URL + "/mcp"
	return u
}

func (u *upstreamServer) sessions() int {
	n := 0
	for range u.srv.Sessions() {
		n++
	}
	return n
}

// gatewayEnv serves st through the REST API and a gateway as serve builds them.
func gatewayEnv(t *testing.T, tweak func(*gateway.Options)) (*apitest.Env, *client.Client) {
	t.Helper()
	st := apitest.OpenSQLite(t)
	loopback := probe.New(probe.Options{AllowPrivate: true, Timeout: 10 * time.Second})
	o := gateway.Options{Connector: loopback, CallTimeout: 30 * time.Second, ToolsTTL: time.Hour}
	if tweak != nil {
		tweak(&o)
	}
	env := apitest.Start(t, st, app.Config{Credentials: apitest.Credentials(t, st), Prober: loopback, Gateway: o})
	return env, env.Client(t, env.KeyA)
}

func addServer(t *testing.T, c *client.Client, slug, url string) {
	t.Helper()
	if _, err := c.CreateServer(context.Background(), client.CreateMCPServer{Name: slug, Slug: slug, Url: url}); err != nil {
		t.Fatal(err)
	}
}

func addAgent(t *testing.T, c *client.Client, uid string, slugs ...string) string {
	t.Helper()
	if slugs == nil {
		slugs = []string{}
	}
	if _, err := c.CreateAgent(context.Background(), client.CreateAgent{Name: uid, Uid: &uid, McpServers: &slugs}); err != nil {
		t.Fatal(err)
	}
	return uid
}

func agentURL(env *apitest.Env, uid string) string {
	return env.URL + "/ai-agents/agent-builder/agents/" + uid + "/mcp"
}

// TestToolErrorsKeepTheCircuitClosed: a server answering calls with a JSON-RPC error (bad
// arguments) is answering: its tools stay listed for every agent, its other tools keep
// working, and the client gets the server's own error.
func TestToolErrorsKeepTheCircuitClosed(t *testing.T) {
	up := newUpstreamServer(t, "up")
	env, c := gatewayEnv(t, func(o *gateway.Options) { o.BreakerThreshold = 2 })
	addServer(t, c, "up", up.URL)
	uid := addAgent(t, c, "a1", "up")
	cs := connect(t, agentURL(env, uid), env.KeyA, "client", false, nil)
	ctx := context.Background()
	for range 5 {
		_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "up__strict"})
		var we *jsonrpc.Error
		if err == nil || !asWire(err, &we) || we.Code != jsonrpc.CodeInvalidParams {
			t.Fatalf("bad arguments: %v, want the server's -32602", err)
		}
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "up__echo"})
	if err != nil || res.IsError {
		t.Fatalf("after five JSON-RPC errors: %v %+v", err, res)
	}
	other := connect(t, agentURL(env, addAgent(t, c, "a2", "up")), env.KeyA, "other", false, nil)
	lt, err := other.ListTools(ctx, nil)
	if err != nil || len(lt.Tools) != 2 {
		t.Fatalf("another agent's tools: %v %v", err, lt)
	}
	if s, err := c.GetServer(ctx, "up"); err != nil || (s.Health != nil && s.Health.Status == "unreachable") {
		t.Fatalf("the server's health after tool errors: %v %+v", err, s.Health)
	}
}

// asWire finds the JSON-RPC error the client got.
func asWire(err error, we **jsonrpc.Error) bool {
	for err != nil {
		if e, ok := err.(*jsonrpc.Error); ok {
			*we = e
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// TestSlowHandshakeStallsNoOne: while one client session's handshake to a server hangs,
// another session (of another agent) calls the same server, and the first session calls
// another server.
func TestSlowHandshakeStallsNoOne(t *testing.T) {
	slow, fast := newUpstreamServer(t, "slow"), newUpstreamServer(t, "fast")
	env, c := gatewayEnv(t, nil)
	addServer(t, c, "slow", slow.URL)
	addServer(t, c, "fast", fast.URL)
	first := connect(t, agentURL(env, addAgent(t, c, "first", "slow", "fast")), env.KeyA, "first", false, nil)
	second := connect(t, agentURL(env, addAgent(t, c, "second", "slow")), env.KeyA, "second", false, nil)
	ctx := context.Background()
	if _, err := second.CallTool(ctx, &mcp.CallToolParams{Name: "slow__echo"}); err != nil { // its session is open
		t.Fatal(err)
	}
	if _, err := first.ListTools(ctx, nil); err != nil { // the catalogue is read
		t.Fatal(err)
	}
	slow.hold.Store(true)
	var wg sync.WaitGroup
	wg.Go(func() { // hangs in its handshake until released
		if res, err := first.CallTool(ctx, &mcp.CallToolParams{Name: "slow__echo"}); err != nil || res.IsError {
			t.Errorf("the held call: %v %+v", err, res)
		}
	})
	for _, call := range []struct {
		cs   *mcp.ClientSession
		tool string
	}{{second, "slow__echo"}, {first, "fast__echo"}} {
		done := make(chan error, 1)
		go func() {
			_, err := call.cs.CallTool(ctx, &mcp.CallToolParams{Name: call.tool})
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s waited on another session's handshake", call.tool)
		}
	}
	close(slow.release)
	wg.Wait()
}

// TestCloseClosesUpstreamSessions: Close ends the sessions the gateway opened upstream.
func TestCloseClosesUpstreamSessions(t *testing.T) {
	up := newUpstreamServer(t, "up")
	env, c := gatewayEnv(t, nil)
	addServer(t, c, "up", up.URL)
	addAgent(t, c, "a1", "up")
	creds := apitest.Credentials(t, env.Store)
	g := gateway.New(gateway.Options{Store: env.Store, Credentials: creds, Connector: probe.New(probe.Options{AllowPrivate: true, Timeout: 10 * time.Second})})
	key, secret := apitest.NewKey(t, env.Store, env.AppA, store.ScopeFullAccess)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := g.Serve(w, r, key, "a1"); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
		}
	}))
	t.Cleanup(func() { // after the client's session (cleanups run last first)
		hs.CloseClientConnections()
		hs.Close()
	})
	cs := connect(t, hs.URL, secret, "client", false, nil)
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "up__echo"}); err != nil {
		t.Fatal(err)
	}
	if n := up.sessions(); n != 2 { // the catalogue's, the client session's
		t.Fatalf("%d upstream sessions, want 2", n)
	}
	g.Close()
	deadline := time.Now().Add(10 * time.Second)
	for up.sessions() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d upstream sessions still open 10 s after Close", up.sessions())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTimeoutsOpenTheCircuitAsTimeouts: a server that does not answer in time opens its
// circuit as a timeout (told by the error's kind, not its text), which its health shows.
func TestTimeoutsOpenTheCircuitAsTimeouts(t *testing.T) {
	up := newUpstreamServer(t, "up")
	stop := make(chan struct{})
	up.srv.AddTool(&mcp.Tool{Name: "hang", InputSchema: map[string]any{"type": "object"}}, func(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		return nil, ctx.Err()
	})
	t.Cleanup(func() { close(stop) })
	// The call timeout also bounds the upstream's handshake: long enough for a loaded
	// machine's, so that only the hanging call runs out of it.
	env, c := gatewayEnv(t, func(o *gateway.Options) { o.BreakerThreshold, o.CallTimeout = 1, 5*time.Second })
	addServer(t, c, "up", up.URL)
	cs := connect(t, agentURL(env, addAgent(t, c, "a1", "up")), env.KeyA, "client", false, nil)
	ctx := context.Background()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "up__hang"})
	if err != nil || !res.IsError || !strings.Contains(resultText(res), "did not answer in time") {
		t.Fatalf("a hanging call: %v %+v", err, res)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := c.GetServer(ctx, "up")
		if err != nil {
			t.Fatal(err)
		}
		if s.Health != nil && s.Health.Status == "timeout" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health %+v, want timeout", s.Health)
		}
		time.Sleep(20 * time.Millisecond)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "up__echo"})
	if err == nil && !res.IsError {
		t.Fatal("a call went through an open circuit")
	}
}

// TestDNSRebinding: on a loopback listener a non-loopback Host is refused; an Origin is
// served only when it is the public URL's, an allowed one, or a loopback one.
func TestDNSRebinding(t *testing.T) {
	env, c := gatewayEnv(t, func(o *gateway.Options) {
		o.PublicURL, o.AllowedOrigins = "https://mcp.example.com/", []string{"https://app.example.org:8443"}
	})
	uid := addAgent(t, c, "a1")
	post := func(host, origin string) int {
		req, _ := http.NewRequest(http.MethodPost, agentURL(env, uid), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+env.KeyA)
		if host != "" {
			req.Host = host
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		host, origin string
		want         int
	}{
		{"", "", 200},
		{"evil.example.com", "", 403},
		{"evil.example.com", "http://evil.example.com", 403},
		{"", "http://evil.example.com", 403},
		{"", "null", 403},
		{"", "https://mcp.example.com", 200},
		{"", "https://app.example.org:8443", 200},
		{"", "https://app.example.org", 403},
		{"localhost:1234", "http://localhost:1234", 200},
		{"[::1]:80", "http://127.0.0.1:5173", 200},
	} {
		if got := post(tc.host, tc.origin); got != tc.want {
			t.Errorf("Host %q Origin %q: %d, want %d", tc.host, tc.origin, got, tc.want)
		}
	}
}
