package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/gateway/admission"
	"github.com/agentmcp/agentmcp/store"
)

// streamWatch is an http.RoundTripper that adds a key and counts the GET event streams that
// ended (their body returned an error or EOF).
type streamWatch struct {
	key           string
	opened, ended atomic.Int32
}

func (s *streamWatch) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+s.key)
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && r.Method == http.MethodGet && resp.StatusCode == http.StatusOK {
		s.opened.Add(1)
		resp.Body = &endWatch{ReadCloser: resp.Body, ended: &s.ended}
	}
	return resp, err
}

type endWatch struct {
	io.ReadCloser
	ended *atomic.Int32
	once  sync.Once
}

func (e *endWatch) Read(p []byte) (int, error) {
	n, err := e.ReadCloser.Read(p)
	if err != nil {
		e.once.Do(func() { e.ended.Add(1) })
	}
	return n, err
}

// streamingClient connects a go-sdk client that holds a standing GET stream.
func streamingClient(t *testing.T, env *apitest.Env, uid string, w *streamWatch) *mcp.ClientSession {
	t.Helper()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "streams", Version: "1"}, nil).Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint: env.URL + "/ai-agents/agent-builder/agents/" + uid + "/mcp", HTTPClient: &http.Client{Transport: w}, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// rawGet opens a GET event stream of session id, and returns its status and Retry-After
// (closing the stream when it is refused; the test's cleanup closes the others).
func rawGet(t *testing.T, env *apitest.Env, uid, key, id string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, env.URL+"/ai-agents/agent-builder/agents/"+uid+"/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests && !strings.Contains(string(b), "ERR_RATE_LIMITED") {
			t.Fatalf("429 without the error body: %s", b)
		}
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp.StatusCode, ""
}

// session opens a gateway session without a standing stream and returns its id.
func session(t *testing.T, env *apitest.Env, uid, key string) string {
	t.Helper()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "s", Version: "1"}, nil).Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint: env.URL + "/ai-agents/agent-builder/agents/" + uid + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{key}}, DisableStandaloneSSE: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs.ID()
}

// TestGatewayStreamBounds: one key holds at most StreamsPerKey event streams, an agent
// StreamsPerAgent, and past the file-descriptor reserve nobody opens another; each refusal
// is 429 with Retry-After, and the REST API keeps answering.
func TestGatewayStreamBounds(t *testing.T) {
	st := apitest.OpenSQLite(t)
	var fds atomic.Int64 // the process's open descriptors, as the test pretends them
	env, c := gatewayEnv(t, st, func(cfg *app.Config) {
		cfg.Admission = admission.Options{StreamsPerKey: 2, StreamsPerAgent: 3, FDLimit: 1000, FDReserve: 100,
			OpenFDs: func() int { return int(fds.Load()) }}
	})
	ctx := context.Background()
	if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: "A", Uid: ptr("agent-1")}); err != nil {
		t.Fatal(err)
	}
	_, key2 := apitest.NewKey(t, st, env.AppA, store.ScopeFullAccess)
	for i, want := range []int{200, 200, 429} { // per key
		if got, retry := rawGet(t, env, "agent-1", env.KeyA, session(t, env, "agent-1", env.KeyA)); got != want || (want == 429 && retry == "") {
			t.Fatalf("stream %d of one key: %d (Retry-After %q), want %d", i, got, retry, want)
		}
	}
	for i, want := range []int{200, 429} { // per agent: 3 in all
		if got, _ := rawGet(t, env, "agent-1", key2, session(t, env, "agent-1", key2)); got != want {
			t.Fatalf("stream %d of the agent: %d, want %d", i, got, want)
		}
	}
	if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: "B", Uid: ptr("agent-2")}); err != nil {
		t.Fatal(err)
	}
	fds.Store(900) // the reserve is reached: no new stream, for anyone
	if got, retry := rawGet(t, env, "agent-2", key2, session(t, env, "agent-2", key2)); got != http.StatusTooManyRequests || retry == "" {
		t.Fatalf("past the fd reserve: %d (Retry-After %q)", got, retry)
	}
	if _, err := c.ListServers(ctx, client.ListOptions{}); err != nil {
		t.Fatalf("REST past the stream bounds: %v", err)
	}
	fds.Store(10)
	if got, _ := rawGet(t, env, "agent-2", key2, session(t, env, "agent-2", key2)); got != http.StatusOK {
		t.Fatalf("below the reserve again: %d", got)
	}
}

// TestGatewaySessionBounds (issue 34 item 1): one key holds at most SessionsPerKey gateway
// sessions on a replica and an app SessionsPerApp, sessions rebuilt under an id this replica
// never made counting too; past a bound initialize gets 429 with Retry-After, other apps are
// not affected, and a session that ends gives its place back.
func TestGatewaySessionBounds(t *testing.T) {
	st := apitest.OpenSQLite(t)
	env, c := gatewayEnv(t, st, func(cfg *app.Config) {
		cfg.Admission = admission.Options{SessionsPerKey: 2, SessionsPerApp: 3}
	})
	ctx := context.Background()
	if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: "A", Uid: ptr("agent-1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client(t, env.KeyB).CreateAgent(ctx, client.CreateAgent{Name: "B", Uid: ptr("agent-b")}); err != nil {
		t.Fatal(err)
	}
	endpoint := func(uid string) string { return env.URL + "/ai-agents/agent-builder/agents/" + uid + "/mcp" }
	refused := func(what string, st int, h http.Header) {
		t.Helper()
		if st != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
			t.Fatalf("%s: %d (Retry-After %q), want 429 with Retry-After", what, st, h.Get("Retry-After"))
		}
	}
	first := session(t, env, "agent-1", env.KeyA)
	session(t, env, "agent-1", env.KeyA)
	st1, h := postMCP(t, endpoint("agent-1"), env.KeyA, "", initializeBody)
	refused("a third session of one key", st1, h)
	st1, h = postMCP(t, endpoint("agent-1"), env.KeyA, "amg1_"+strings.Repeat("A", 26), `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	refused("a session rebuilt under an id this replica never made", st1, h)

	_, key2 := apitest.NewKey(t, st, env.AppA, store.ScopeFullAccess)
	session(t, env, "agent-1", key2)
	st1, h = postMCP(t, endpoint("agent-1"), key2, "", initializeBody)
	refused("a fourth session of the app", st1, h)
	if st1, _ := postMCP(t, endpoint("agent-b"), env.KeyB, "", initializeBody); st1 != http.StatusOK {
		t.Fatalf("another app's session: %d", st1)
	}

	req, _ := http.NewRequest(http.MethodDelete, endpoint("agent-1"), nil)
	req.Header.Set("Authorization", "Bearer "+env.KeyA)
	req.Header.Set("Mcp-Session-Id", first)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitUntil(t, "the ended session's place to come back", func() bool {
		st1, _ := postMCP(t, endpoint("agent-1"), env.KeyA, "", initializeBody)
		return st1 == http.StatusOK
	})
}

// TestGatewayStreamEndsOnRevocation: a go-sdk client's standing GET stream ends once its
// key is revoked, and another's once its agent is deleted, within the recheck period (the
// key cache's TTL, or less) — not whenever the client hangs up.
func TestGatewayStreamEndsOnRevocation(t *testing.T) {
	st := apitest.OpenSQLite(t)
	const recheck = 200 * time.Millisecond
	env, c := gatewayEnv(t, st, func(cfg *app.Config) {
		cfg.Admission = admission.Options{Recheck: recheck}
		cfg.KeyCacheTTL = time.Hour // the check reads the store, not the cache
	})
	ctx := context.Background()
	for _, uid := range []string{"agent-1", "agent-2"} {
		if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: uid, Uid: ptr(uid)}); err != nil {
			t.Fatal(err)
		}
	}
	k, secret := apitest.NewKey(t, st, env.AppA, store.ScopeFullAccess)
	revoked, deleted := &streamWatch{key: secret}, &streamWatch{key: env.KeyA}
	streamingClient(t, env, "agent-1", revoked)
	streamingClient(t, env, "agent-2", deleted)
	// Both streams are open: each a GET answered 200 that has not ended.
	waitUntil(t, "the streams to open", func() bool { return revoked.opened.Load() == 1 && deleted.opened.Load() == 1 })
	if revoked.ended.Load() != 0 || deleted.ended.Load() != 0 {
		t.Fatal("a stream ended before anything happened")
	}
	if err := st.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the revoked key's stream to end", func() bool { return revoked.ended.Load() > 0 })
	if err := c.DeleteAgent(ctx, "agent-2"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the deleted agent's stream to end", func() bool { return deleted.ended.Load() > 0 })
	// A new agent with the same uid does not revive it.
	if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: "again", Uid: ptr("agent-2")}); err != nil {
		t.Fatal(err)
	}
}

// TestGatewayStreamEndsAtOnceOnRevocation: a revocation travels the change feed
// (store.ChangeKey), so a stream of the revoked key ends at once, not at its next recheck
// (an hour here).
func TestGatewayStreamEndsAtOnceOnRevocation(t *testing.T) {
	st := apitest.OpenSQLite(t)
	env, c := gatewayEnv(t, st, func(cfg *app.Config) {
		cfg.Admission = admission.Options{Recheck: time.Hour}
		cfg.KeyCacheTTL = time.Hour
	})
	ctx := context.Background()
	if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: "A", Uid: ptr("agent-1")}); err != nil {
		t.Fatal(err)
	}
	k, secret := apitest.NewKey(t, st, env.AppA, store.ScopeFullAccess)
	w := &streamWatch{key: secret}
	streamingClient(t, env, "agent-1", w)
	waitUntil(t, "the stream to open", func() bool { return w.opened.Load() == 1 })
	if err := env.Store.RevokeAPIKey(ctx, k.ID); err != nil { // through the feed, as the API's
		t.Fatal(err)
	}
	waitUntil(t, "the revoked key's stream to end", func() bool { return w.ended.Load() > 0 })
}

// waitUntil polls cond for what a loaded machine needs (the promise is a recheck period).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	pollUntil(t, 30*time.Second, what, cond)
}

// TestGatewayCallBounds: concurrent requests per agent past CallsPerAgent get 429 with
// Retry-After; results past the app's bytes in flight fail the call with a clear error
// instead of being held, and the budget comes back when calls complete.
func TestGatewayCallBounds(t *testing.T) {
	st := apitest.OpenSQLite(t)
	env, c := gatewayEnv(t, st, func(cfg *app.Config) {
		cfg.Admission = admission.Options{CallsPerAgent: 2, BytesPerApp: 256 << 10}
		// Results of hundreds of KiB take seconds under -race on a loaded machine.
		cfg.Gateway.CallTimeout = 30 * time.Second
		cfg.Gateway.Connector = probe.New(probe.Options{AllowPrivate: true, Timeout: 30 * time.Second})
	})
	ctx := context.Background()
	release := make(chan struct{})
	var blocked atomic.Int32
	var reached sync.Map // the Tags of the calls that reached the upstream
	up := newUpstream(t, "up", 1, "", func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var a struct {
			Size  int
			Block bool
			Tag   string
		}
		if err := json.Unmarshal(req.Params.Arguments, &a); err != nil {
			return nil, err
		}
		reached.Store(a.Tag, true)
		if a.Block {
			blocked.Add(1)
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: strings.Repeat("x", a.Size)}}}, nil
	})
	if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "up", Slug: "up", Url: up.URL}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: "A", Uid: ptr("agent-1"), McpServers: &[]string{"up"}}); err != nil {
		t.Fatal(err)
	}
	cs := gatewayClient(t, env, "agent-1", env.KeyA, nil)
	allTools(t, cs)

	// call makes one call; it reaches the upstream (a call within the bound is never refused).
	call := func(tag string, args map[string]any) (*mcp.CallToolResult, error) {
		args["Tag"] = tag
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "up__up_0", Arguments: args})
		if _, ok := reached.Load(tag); !ok && err == nil {
			t.Errorf("call %s answered without reaching the upstream", tag)
		}
		return res, err
	}
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			if res, err := call(fmt.Sprintf("blocked-%d", i), map[string]any{"Block": true}); err != nil || res.IsError {
				t.Errorf("a blocked call: %v %s", err, describe(res))
			}
		})
	}
	waitUntil(t, "two calls to reach the upstream", func() bool { return blocked.Load() == 2 })
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/ai-agents/agent-builder/agents/agent-1/mcp",
		strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"up__up_0","arguments":{}}}`))
	req.Header.Set("Authorization", "Bearer "+env.KeyA)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", cs.ID())
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req) // unbounded, it would wait for the others
	if err != nil {
		t.Fatalf("a third call at once: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a third call at once: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	close(release)
	wg.Wait()

	// The gateway charges each relayed request's upstream bytes to the app (Options.Budget).
	t.Run("bytes in flight", func(t *testing.T) {
		res, err := call("big", map[string]any{"Size": 384 << 10})
		if err != nil || !res.IsError || !strings.Contains(text(res), "in flight") {
			t.Fatalf("a result past the app's bytes in flight: %v %s", err, describe(res))
		}
		for i := range 6 { // 6 × 150 KiB: more than the budget, one at a time, so it comes back
			if res, err := call(fmt.Sprintf("within-%d", i), map[string]any{"Size": 150 << 10}); err != nil || res.IsError {
				t.Fatalf("call %d within the budget: %v %s", i, err, describe(res))
			}
		}
	})
}

// describe is a call's result in words, for a failure message (nil after an error).
func describe(res *mcp.CallToolResult) string {
	if res == nil {
		return "no result"
	}
	return text(res)
}

// TestGatewayCallsWithinTheBoundAreNeverRefused: N sessions of one agent, each making
// calls one after another as fast as it can, never overlap more than CallsPerAgent = N:
// none is refused, although a call's slot is given back only after its answer was sent
// (a request past the bound waits up to admission.Options.CallWait for one to end).
func TestGatewayCallsWithinTheBoundAreNeverRefused(t *testing.T) {
	const n, calls = 3, 150
	st := apitest.OpenSQLite(t)
	env, c := gatewayEnv(t, st, func(cfg *app.Config) { cfg.Admission = admission.Options{CallsPerAgent: n} })
	ctx := context.Background()
	up := newUpstream(t, "up", 1, "", nil)
	if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "up", Slug: "up", Url: up.URL}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: "A", Uid: ptr("agent-1"), McpServers: &[]string{"up"}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var refused atomic.Int32
	for i := range n {
		cs := gatewayClient(t, env, "agent-1", env.KeyA, nil)
		wg.Go(func() {
			for j := range calls {
				res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "up__up_0", Arguments: map[string]any{"i": i, "j": j}})
				if err != nil || res.IsError {
					refused.Add(1)
					t.Errorf("session %d call %d: %v %s", i, j, err, describe(res))
					return
				}
			}
		})
	}
	wg.Wait()
	if r := refused.Load(); r != 0 {
		t.Fatalf("%d sessions within the bound of %d: %d calls refused", n, n, r)
	}
}
