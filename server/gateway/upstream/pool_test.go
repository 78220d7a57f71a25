package upstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/gateway/upstream"
)

// connector connects with the SDK's own client transport; block, when set, holds the
// handshake to a URL until it is closed.
type connector struct {
	mu       sync.Mutex
	block    map[string]chan struct{}
	connects atomic.Int32
}

func (c *connector) Connect(ctx context.Context, url string, _ probe.Auth, cl *mcp.Client) (*mcp.ClientSession, error) {
	c.connects.Add(1)
	c.mu.Lock()
	ch := c.block[url]
	c.mu.Unlock()
	if ch != nil {
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return cl.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url}, nil)
}

type noCreds struct{}

func (noCreds) Auth(context.Context, string, string) (probe.Auth, error) { return nil, nil }

// server is a real go-sdk MCP server with a tool "strict" that requires an argument, and a
// handler in front that can answer 500 instead.
type server struct {
	URL  string
	srv  *mcp.Server
	fail atomic.Bool
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{srv: mcp.NewServer(&mcp.Implementation{Name: "up", Version: "1"}, nil)}
	// Bad arguments get the JSON-RPC error -32602, as servers that check them answer.
	s.srv.AddTool(&mcp.Tool{Name: "strict", InputSchema: map[string]any{"type": "object"}}, func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var in struct {
			N *int `json:"n"`
		}
		if json.Unmarshal(req.Params.Arguments, &in) != nil || in.N == nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "n: a number is required"}
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "ok"}}}, nil
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.srv }, nil)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.fail.Load() && r.Method == http.MethodPost {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
	})
	s.URL = hs.URL
	return s
}

func call(l *upstream.Lane, k upstream.Key, url string, args any) error {
	return l.Do(context.Background(), k, url, 10*time.Second, func(ctx context.Context, cs *mcp.ClientSession) error {
		_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "strict", Arguments: args})
		return err
	})
}

// TestBreakerCountsOutagesOnly: a server that answers a call with a JSON-RPC error (bad
// arguments) is not out, however often; one that answers 500 is, and its circuit opens
// after the threshold, with a typed cause.
func TestBreakerCountsOutagesOnly(t *testing.T) {
	s := newServer(t)
	opened := make(chan error, 1)
	p := upstream.NewPool(upstream.Options{Connector: &connector{}, Credentials: noCreds{}, BreakerThreshold: 3,
		Opened: func(_ upstream.Key, cause error) { opened <- cause }})
	defer p.Close()
	l, _ := p.NewLane(func(upstream.Key) *mcp.Client {
		return mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil)
	})
	k := upstream.Key{App: "a", Slug: "s"}
	for range 5 {
		err := call(l, k, s.URL, map[string]any{"n": "not a number"})
		var we *jsonrpc.Error
		if !errors.As(err, &we) {
			t.Fatalf("bad arguments: %v, want the server's JSON-RPC error", err)
		}
		var oe *upstream.Error
		if errors.As(err, &oe) {
			t.Fatalf("bad arguments counted as an outage: %v", err)
		}
	}
	if p.Open(k) {
		t.Fatal("JSON-RPC errors opened the circuit")
	}
	if err := call(l, k, s.URL, map[string]any{"n": 1}); err != nil {
		t.Fatal(err)
	}
	s.fail.Store(true)
	for i := range 3 {
		err := call(l, k, s.URL, map[string]any{"n": 1})
		if !errors.Is(err, upstream.ErrUnreachable) {
			t.Fatalf("call %d to a server answering 500: %v, want ErrUnreachable", i, err)
		}
	}
	if !p.Open(k) {
		t.Fatal("three 500s did not open the circuit")
	}
	select {
	case cause := <-opened:
		if !errors.Is(cause, upstream.ErrUnreachable) {
			t.Fatalf("opened with %v", cause)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Opened was not told")
	}
	if err := call(l, k, s.URL, map[string]any{"n": 1}); !errors.Is(err, upstream.ErrOpen) {
		t.Fatalf("call with the circuit open: %v", err)
	}
}

// TestClassify: kinds are told by type, and the cause stays reachable.
func TestClassify(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	<-ctx.Done()
	err := upstream.Classify(ctx, "s", ctx.Err())
	if !errors.Is(err, upstream.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout: %v", err)
	}
	if err := upstream.Classify(context.Background(), "s", &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams}); err != nil {
		t.Fatalf("a JSON-RPC error is an answer, not an outage: %v", err)
	}
	cause := errors.New("connection refused")
	err = upstream.Classify(context.Background(), "s", cause)
	if !errors.Is(err, upstream.ErrUnreachable) || !errors.Is(err, cause) {
		t.Fatalf("transport failure: %v", err)
	}
}

// TestConnectOutsideLocks: a server whose handshake hangs stalls neither another server's
// sessions nor another lane's; concurrent first uses of one server connect once.
func TestConnectOutsideLocks(t *testing.T) {
	slow, fast := newServer(t), newServer(t)
	release := make(chan struct{})
	conn := &connector{block: map[string]chan struct{}{slow.URL: release}}
	p := upstream.NewPool(upstream.Options{Connector: conn, Credentials: noCreds{}})
	defer p.Close()
	client := func(upstream.Key) *mcp.Client {
		return mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil)
	}
	l1, _ := p.NewLane(client)
	l2, _ := p.NewLane(client)
	ks, kf := upstream.Key{App: "a", Slug: "slow"}, upstream.Key{App: "a", Slug: "fast"}

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 3 { // three first uses of the slow server at once
		wg.Go(func() {
			_, err := l1.Session(context.Background(), ks, slow.URL)
			errs <- err
		})
	}
	// While they wait, the fast server answers on the same lane and on another one.
	for _, l := range []*upstream.Lane{l1, l2} {
		done := make(chan error, 1)
		go func() { done <- call(l, kf, fast.URL, map[string]any{"n": 1}) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a hanging handshake to one server stalled a call to another")
		}
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// 3 uses of slow on one lane: one handshake; fast: one per lane.
	if n := conn.connects.Load(); n != 3 {
		t.Fatalf("%d handshakes, want 3 (single-flight per lane and server)", n)
	}
}

// TestCloseClosesSessions: closing the pool ends the sessions it opened on the servers.
func TestCloseClosesSessions(t *testing.T) {
	s := newServer(t)
	p := upstream.NewPool(upstream.Options{Connector: &connector{}, Credentials: noCreds{}})
	l, _ := p.NewLane(func(upstream.Key) *mcp.Client {
		return mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil)
	})
	if err := call(l, upstream.Key{App: "a", Slug: "s"}, s.URL, map[string]any{"n": 1}); err != nil {
		t.Fatal(err)
	}
	if countSessions(s.srv) != 1 {
		t.Fatalf("%d sessions open on the server, want 1", countSessions(s.srv))
	}
	p.Close()
	deadline := time.Now().Add(10 * time.Second)
	for countSessions(s.srv) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the server still holds the session 10 s after Close")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, ok := p.NewLane(nil); ok {
		t.Fatal("a closed pool made a lane")
	}
}

func countSessions(s *mcp.Server) int {
	n := 0
	for range s.Sessions() {
		n++
	}
	return n
}
