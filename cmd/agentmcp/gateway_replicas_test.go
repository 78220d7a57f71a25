package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/pgtest"
)

// roundRobin sends each request of one MCP client session to the next replica, as a
// round-robin load balancer would, with the agent key as a bearer token.
type roundRobin struct {
	bases []*url.URL
	n     atomic.Int64
	key   string
}

func (rr *roundRobin) RoundTrip(r *http.Request) (*http.Response, error) {
	b := rr.bases[int(rr.n.Add(1))%len(rr.bases)]
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = b.Scheme, b.Host, b.Host
	r.Header.Set("Authorization", "Bearer "+rr.key)
	return http.DefaultTransport.RoundTrip(r)
}

// TestGatewayTwoReplicas: one MCP session whose requests alternate between two real
// replicas on PostgreSQL works (sessions are rebuilt where they are not held), with an agent
// key minted by `keys create --agent`, stored bearer credentials and list_changed sent within
// 2 s of an attach made through the other replica (the LISTEN/NOTIFY change feed).
func TestGatewayTwoReplicas(t *testing.T) {
	db := pgtest.NewDatabase(t)
	keeper := "base64key://" + strings.Repeat("A", 43) + "="
	reps, key := startReplicas(t, db, "gw", "--probe-allow-private", "--secrets-keeper", keeper)
	ctx := context.Background()

	s := mcp.NewServer(&mcp.Implementation{Name: "up", Version: "1"}, nil)
	for _, name := range []string{"echo", "other"} {
		s.AddTool(&mcp.Tool{Name: name, InputSchema: map[string]any{"type": "object"}}, func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name + ":" + string(req.Params.Arguments)}}}, nil
		})
	}
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer upstream-token" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	sse := httptest.NewServer(mcp.NewSSEHandler(func(*http.Request) *mcp.Server { return s }, nil))
	t.Cleanup(func() { // the replicas hold streams open: cut them, or Close waits for ever
		for _, srv := range []*httptest.Server{up, sse} {
			srv.CloseClientConnections()
			srv.Close()
		}
	})

	c0, _ := client.New(reps[0].base+"/v3", key)
	c1, _ := client.New(reps[1].base+"/v3", key)
	token := "upstream-token"
	if _, err := c0.CreateServer(ctx, client.CreateMCPServer{Name: "Up", Slug: "up", Url: up.URL + "/mcp", Auth: &client.AuthInput{Type: "bearer", Token: &token}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c0.CreateServer(ctx, client.CreateMCPServer{Name: "Legacy", Slug: "legacy", Url: sse.URL + "/sse"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c0.CreateAgent(ctx, client.CreateAgent{Name: "Bot", Uid: ptr("bot"), McpServers: &[]string{"up"}}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCmd(t, "keys", "create", "--app", "gw", "--agent", "bot", "--db", db)
	fields := strings.Fields(out)
	if code != 0 || len(fields) == 0 {
		t.Fatalf("keys create --agent: %d %s", code, errOut)
	}
	agentKey := fields[len(fields)-1]

	var bases []*url.URL
	for _, p := range reps {
		u, _ := url.Parse(p.base)
		bases = append(bases, u)
	}
	changed := make(chan struct{}, 4)
	mc := mcp.NewClient(&mcp.Implementation{Name: "rr", Version: "1"}, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			select {
			case changed <- struct{}{}:
			default:
			}
		}})
	cs, err := mc.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: reps[0].base + "/v3/ai-agents/agent-builder/agents/bot/mcp",
		HTTPClient: &http.Client{Transport: &roundRobin{bases: bases, key: agentKey}}}, nil)
	if err != nil {
		t.Fatalf("connect through both replicas: %v", err)
	}
	defer cs.Close()
	for i := range 4 { // each call lands on the other replica than the one before
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "up__echo", Arguments: map[string]any{"i": i}})
		if err != nil || res.IsError || !strings.HasPrefix(res.Content[0].(*mcp.TextContent).Text, "echo:") {
			t.Fatalf("call %d: %v %+v", i, err, res)
		}
	}
	for len(changed) > 0 {
		<-changed
	}
	// An attach through replica 1 reaches the session's stream, wherever it is: a
	// notification after which the tools are the new ones (news of the first listing may
	// still arrive before it).
	if _, err := c1.AddMCPServers(ctx, "bot", "legacy"); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(60 * time.Second) // a loaded machine, not the feed, sets this
	for {
		select {
		case <-changed:
		case <-deadline:
			t.Fatal("no notifications/tools/list_changed with the attached tools after an attach on the other replica")
		}
		var names []string
		for tool, err := range cs.Tools(ctx, nil) {
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, tool.Name)
		}
		if len(names) == 4 {
			break
		}
	}
	// The listing may have come from the replica that applied the attach first; the call
	// may land on the other, which learns of it from the feed a moment later.
	for {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "legacy__other"})
		if err == nil && !res.IsError {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("call over legacy SSE: %v %+v", err, res)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
