package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server"
	"github.com/agentmcp/agentmcp/server/gateway"
)

// asker is an MCP server whose tool "ask" asks the calling client for a sampling and an
// elicitation, and whose tool "wait" reports progress with its tag and waits until it is
// cancelled or released.
type asker struct {
	URL       string
	mu        sync.Mutex
	cancelled map[string]bool
	release   chan struct{}
}

func newAsker(t *testing.T, name string) *asker {
	t.Helper()
	a := &asker{cancelled: map[string]bool{}, release: make(chan struct{})}
	s := mcp.NewServer(&mcp.Implementation{Name: name, Version: "1"}, nil)
	s.AddTool(&mcp.Tool{Name: "ask", InputSchema: map[string]any{"type": "object"}}, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		sampled, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{MaxTokens: 10,
			Messages: []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: "who are you?"}}}})
		if err != nil {
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "sampling: " + err.Error()}}}, nil
		}
		elicited, err := req.Session.Elicit(ctx, &mcp.ElicitParams{Message: "who?", RequestedSchema: map[string]any{"type": "object",
			"properties": map[string]any{"who": map[string]any{"type": "string"}}}})
		if err != nil {
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "elicitation: " + err.Error()}}}, nil
		}
		text := sampled.Content.(*mcp.TextContent).Text
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("%s: sampled=%s elicited=%v", name, text, elicited.Content["who"])}}}, nil
	})
	s.AddTool(&mcp.Tool{Name: "wait", InputSchema: map[string]any{"type": "object"}}, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var in struct{ Tag string }
		json.Unmarshal(req.Params.Arguments, &in)
		if tok := req.Params.GetProgressToken(); tok != nil {
			req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: 1, Message: in.Tag})
		}
		select {
		case <-ctx.Done():
			a.mu.Lock()
			a.cancelled[in.Tag] = true
			a.mu.Unlock()
			return nil, ctx.Err()
		case <-a.release:
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "done " + in.Tag}}}, nil
		}
	})
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
	})
	a.URL = hs.URL + "/mcp"
	return a
}

func (a *asker) wasCancelled(tag string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cancelled[tag]
}

type bearer struct{ key string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return http.DefaultTransport.RoundTrip(r)
}

// progressLog records the progress notifications a client session receives.
type progressLog struct {
	mu  sync.Mutex
	got map[string]string // token → message
}

func (p *progressLog) get(tok string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, ok := p.got[tok]
	return m, ok
}

// connect opens a client session to the gateway as client who; with answers, it declares
// sampling and elicitation and answers both with its name.
func connect(t *testing.T, url, key, who string, answers bool, progress *progressLog) *mcp.ClientSession {
	t.Helper()
	opts := &mcp.ClientOptions{}
	if answers {
		opts.CreateMessageHandler = func(context.Context, *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			return &mcp.CreateMessageResult{Role: "assistant", Model: "m", Content: &mcp.TextContent{Text: who}}, nil
		}
		opts.ElicitationHandler = func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"who": who}}, nil
		}
	}
	if progress != nil {
		opts.ProgressNotificationHandler = func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			progress.mu.Lock()
			progress.got[fmt.Sprint(req.Params.ProgressToken)] = req.Params.Message
			progress.mu.Unlock()
		}
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: who, Version: "1"}, opts).Connect(context.Background(),
		&mcp.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: bearer{key}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func resultText(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// TestRelayToTheCallingSession: two servers behind one agent ask back mid-call; each
// sampling and elicitation reaches the client session that made the call, and a client
// that did not declare them is not asked. Two concurrent calls of one session get their
// own progress, and cancelling one cancels it upstream and not the other.
func TestRelayToTheCallingSession(t *testing.T) {
	one, two := newAsker(t, "one"), newAsker(t, "two")
	st := apitest.OpenSQLite(t)
	loopback := probe.New(probe.Options{AllowPrivate: true, Timeout: 10 * time.Second})
	env := apitest.Start(t, st, server.Config{Credentials: apitest.Credentials(t, st), Prober: loopback,
		Gateway: gateway.Options{Connector: loopback, CallTimeout: 30 * time.Second}})
	c := env.Client(t, env.KeyA)
	ctx := context.Background()
	for slug, u := range map[string]*asker{"one": one, "two": two} {
		if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: slug, Slug: slug, Url: u.URL}); err != nil {
			t.Fatal(err)
		}
	}
	uid := "relay"
	if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: "Relay", Uid: &uid, McpServers: &[]string{"one", "two"}}); err != nil {
		t.Fatal(err)
	}
	url := env.URL + "/ai-agents/agent-builder/agents/" + uid + "/mcp"
	progress := &progressLog{got: map[string]string{}}
	alice := connect(t, url, env.KeyA, "alice", true, progress)
	bob := connect(t, url, env.KeyA, "bob", true, nil)
	carol := connect(t, url, env.KeyA, "carol", false, nil)

	var wg sync.WaitGroup
	results := map[string]string{}
	var mu sync.Mutex
	for _, call := range []struct {
		who  string
		cs   *mcp.ClientSession
		tool string
	}{{"alice", alice, "one__ask"}, {"bob", bob, "two__ask"}, {"bob2", bob, "one__ask"}, {"alice2", alice, "two__ask"}} {
		wg.Go(func() {
			res, err := call.cs.CallTool(ctx, &mcp.CallToolParams{Name: call.tool})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				results[call.who] = "error: " + err.Error()
				return
			}
			results[call.who] = resultText(res)
		})
	}
	wg.Wait()
	for who, want := range map[string]string{"alice": "one: sampled=alice elicited=alice", "bob": "two: sampled=bob elicited=bob",
		"bob2": "one: sampled=bob elicited=bob", "alice2": "two: sampled=alice elicited=alice"} {
		if results[who] != want {
			t.Errorf("%s: %q, want %q", who, results[who], want)
		}
	}
	res, err := carol.CallTool(ctx, &mcp.CallToolParams{Name: "one__ask"})
	if err != nil || !res.IsError || !strings.HasPrefix(resultText(res), "sampling:") {
		t.Fatalf("a client without sampling: %v %+v", err, res)
	}

	// Progress and cancellation of two concurrent calls.
	ctxX, cancelX := context.WithCancel(ctx)
	doneX, doneY := make(chan error, 1), make(chan *mcp.CallToolResult, 1)
	go func() {
		p := &mcp.CallToolParams{Name: "one__wait", Arguments: map[string]any{"tag": "x"}}
		p.SetProgressToken("tx")
		_, err := alice.CallTool(ctxX, p)
		doneX <- err
	}()
	go func() {
		p := &mcp.CallToolParams{Name: "one__wait", Arguments: map[string]any{"tag": "y"}}
		p.SetProgressToken("ty")
		res, err := alice.CallTool(ctx, p)
		if err != nil {
			t.Error(err)
		}
		doneY <- res
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		x, okx := progress.get("tx")
		y, oky := progress.get("ty")
		if okx && oky {
			if x != "x" || y != "y" {
				t.Fatalf("progress crossed: tx=%q ty=%q", x, y)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("progress not relayed within 20 s: %v", progress.got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancelX()
	if err := <-doneX; err == nil {
		t.Fatal("the cancelled call returned no error")
	}
	for !one.wasCancelled("x") {
		if time.Now().After(deadline) {
			t.Fatal("the cancelled call was not cancelled upstream within 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(one.release)
	if res := <-doneY; res == nil || resultText(res) != "done y" || one.wasCancelled("y") {
		t.Fatalf("the other call: %+v (cancelled: %v)", res, one.wasCancelled("y"))
	}
}
