package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
)

// rawUpstream is a go-sdk MCP server behind a wrapper that can answer JSON instead of an
// event stream, put a notification before a call's reply, or forget its sessions once.
type rawUpstream struct {
	URL        string
	forget     atomic.Bool  // the next request naming a session gets 404
	rawCalls   atomic.Int64 // tools/call requests the gateway wrote itself
	initialize atomic.Int64
}

func newRawUpstream(t *testing.T, name string, jsonReplies, noisy bool) *rawUpstream {
	t.Helper()
	u := &rawUpstream{}
	s := mcp.NewServer(&mcp.Implementation{Name: name, Version: "1"}, nil)
	s.AddTool(&mcp.Tool{Name: "echo", InputSchema: map[string]any{"type": "object"}}, func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name + ":" + string(req.Params.Arguments)}},
			StructuredContent: map[string]any{"from": name}}, nil
	})
	mh := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{JSONResponse: jsonReplies})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte(`"initialize"`)) {
			u.initialize.Add(1)
		}
		call := bytes.Contains(body, []byte(`"tools/call"`))
		if call && bytes.Contains(body, []byte(`"id":"agw-`)) {
			u.rawCalls.Add(1)
		}
		if r.Header.Get("Mcp-Session-Id") != "" && u.forget.CompareAndSwap(true, false) {
			http.Error(w, "session not found", http.StatusNotFound)
			return
		}
		if call && noisy {
			w = &noisyWriter{ResponseWriter: w}
		}
		mh.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { hs.CloseClientConnections(); hs.Close() })
	u.URL = hs.URL + "/mcp"
	return u
}

// noisyWriter writes a notification event before an event stream's first bytes.
type noisyWriter struct {
	http.ResponseWriter
	once sync.Once
}

func (n *noisyWriter) Write(b []byte) (int, error) {
	n.once.Do(func() {
		if strings.HasPrefix(n.Header().Get("Content-Type"), "text/event-stream") {
			n.ResponseWriter.Write([]byte("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\n" +
				"data: \"params\":{\"level\":\"info\",\"data\":\"working\"}}\n\n"))
		}
	})
	return n.ResponseWriter.Write(b)
}

func (n *noisyWriter) Flush() {
	if f, ok := n.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// TestGatewayRawCalls: the gateway's own tools/call (raw.go) gives the SDK's result whether
// the server answers JSON or an event stream with a notification first, and a session the
// server forgot is opened again without failing the call.
func TestGatewayRawCalls(t *testing.T) {
	st := apitest.OpenSQLite(t)
	env, c := gatewayEnv(t, st)
	ctx := context.Background()
	ups := map[string]*rawUpstream{
		"js":    newRawUpstream(t, "js", true, false),
		"noisy": newRawUpstream(t, "noisy", false, true),
	}
	for slug, u := range ups {
		if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: slug, Slug: slug, Url: u.URL}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: "raw", Uid: ptr("raw"), McpServers: &[]string{"js", "noisy"}}); err != nil {
		t.Fatal(err)
	}
	cs := gatewayClient(t, env, "raw", env.KeyA, nil)
	call := func(slug string) {
		t.Helper()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: slug + "__echo", Arguments: map[string]any{"n": 1}})
		if err != nil || res.IsError || text(res) != slug+`:{"n":1}` {
			t.Fatalf("%s: %+v, %v (%s)", slug, res, err, text(res))
		}
		if m, _ := res.StructuredContent.(map[string]any); m["from"] != slug {
			t.Fatalf("%s: structured content %+v", slug, res.StructuredContent)
		}
	}
	for range 3 {
		call("js")
		call("noisy")
	}
	for slug, u := range ups {
		if n := u.rawCalls.Load(); n < 2 {
			t.Fatalf("%s: %d calls went the raw way, want them all but the first", slug, n)
		}
	}

	u := ups["js"]
	before := u.initialize.Load()
	u.forget.Store(true)
	call("js")
	if u.initialize.Load() != before+1 {
		t.Fatalf("a forgotten session was not opened again (%d → %d initializes)", before, u.initialize.Load())
	}
	call("js")
}

// recordingTransport sets the gateway key and records the Content-Type of each response.
type recordingTransport struct {
	key string
	mu  sync.Mutex
	cts []string
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+rt.key)
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && r.Method == http.MethodPost {
		rt.mu.Lock()
		rt.cts = append(rt.cts, resp.Header.Get("Content-Type"))
		rt.mu.Unlock()
	}
	return resp, err
}

func (rt *recordingTransport) last() string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.cts[len(rt.cts)-1]
}

// TestGatewayDirectCalls: a plain tools/call of an open session is answered by the gateway
// in JSON (direct.go); one with a progress token, and one to a tool the agent does not
// serve, go through the SDK's server, with the SDK's answers.
func TestGatewayDirectCalls(t *testing.T) {
	st := apitest.OpenSQLite(t)
	env, c := gatewayEnv(t, st)
	ctx := context.Background()
	u := newUpstream(t, "up", 1, "", nil)
	if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "up", Slug: "up", Url: u.URL}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: "d", Uid: ptr("direct"), McpServers: &[]string{"up"}}); err != nil {
		t.Fatal(err)
	}
	rt := &recordingTransport{key: env.KeyA}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint: env.URL + "/ai-agents/agent-builder/agents/direct/mcp", HTTPClient: &http.Client{Transport: rt}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "up__up_0", Arguments: map[string]any{"a": 1}})
	if err != nil || res.IsError || text(res) != `up_0:{"a":1}` {
		t.Fatalf("plain call: %+v, %v", res, err)
	}
	if ct := rt.last(); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("a plain call was answered as %q, not by the gateway in JSON", ct)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Meta: mcp.Meta{"progressToken": "p1"}, Name: "up__up_0", Arguments: map[string]any{"a": 2}})
	if err != nil || res.IsError || text(res) != `up_0:{"a":2}` {
		t.Fatalf("call with a progress token: %+v, %v", res, err)
	}
	if ct := rt.last(); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("a call with a progress token was answered as %q, not by the SDK", ct)
	}
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "up__nope"}); err == nil {
		t.Fatal("a tool the agent does not serve was called")
	}
}
