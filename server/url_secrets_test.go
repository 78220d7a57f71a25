package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
)

// TestURLUserinfoRefused: a URL with user:password@ is refused at create and update with
// 400 naming url and pointing to auth, and nothing is written.
func TestURLUserinfoRefused(t *testing.T) {
	env, c := gatewayEnv(t, apitest.OpenSQLite(t))
	ctx := context.Background()
	for _, body := range []string{
		`{"name":"s","slug":"s","url":"https://usr:pw@mcp.example.com/mcp"}`,
		`{"name":"s","slug":"s","url":"https://token@mcp.example.com/mcp"}`,
	} {
		st, b := env.Raw(t, http.MethodPost, "/ai-agents/agent-builder/mcp-servers", env.KeyA, "application/json", strings.NewReader(body))
		if st != http.StatusBadRequest || !strings.Contains(string(b), `"field":"url"`) || !strings.Contains(string(b), "auth field") {
			t.Fatalf("create %s: %d %s", body, st, b)
		}
	}
	if _, err := c.GetServer(ctx, "s"); err == nil {
		t.Fatal("a refused create was written")
	}
	if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "s", Slug: "s", Url: "https://mcp.example.com/mcp"}); err != nil {
		t.Fatal(err)
	}
	st, b := env.Raw(t, http.MethodPatch, "/ai-agents/agent-builder/mcp-servers/s", env.KeyA, "application/json", strings.NewReader(`{"url":"https://usr:pw@mcp.example.com/mcp"}`))
	if st != http.StatusBadRequest || !strings.Contains(string(b), `"field":"url"`) || !strings.Contains(string(b), "auth field") {
		t.Fatalf("update: %d %s", st, b)
	}
	if m, err := c.GetServer(ctx, "s"); err != nil || strings.Contains(m.Url, "usr") {
		t.Fatalf("after a refused update: %+v %v", m, err)
	}
}

// TestURLQueryRedacted: a secret in a server's query shows in no error an agent-key holder
// sees (the gateway's tool result), no probe error and no audit event; the owner still
// reads the URL they stored.
func TestURLQueryRedacted(t *testing.T) {
	const secret = "QLEAKSECRET"
	env, c := gatewayEnv(t, apitest.OpenSQLite(t))
	ctx := context.Background()
	up := newUpstream(t, "up", 1, "", nil)
	// The server goes away after the listing: its calls fail with net/http's error text,
	// which quotes the URL.
	gone := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return up.srv }, nil))
	u := gone.URL + "/mcp?api_key=" + secret
	if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: "leaky", Slug: "leaky", Url: u}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: "A", Uid: ptr("agent-1"), McpServers: &[]string{"leaky"}}); err != nil {
		t.Fatal(err)
	}
	cs := gatewayClient(t, env, "agent-1", env.KeyA, nil)
	if n := len(allTools(t, cs)); n != 1 {
		t.Fatalf("%d tools", n)
	}
	gone.CloseClientConnections()
	gone.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "leaky__up_0"})
	if err != nil || !res.IsError {
		t.Fatalf("call of a server that went away: %v %+v", err, res)
	}
	if strings.Contains(text(res), secret) || !strings.Contains(text(res), "leaky") {
		t.Fatalf("the gateway's error text: %s", text(res))
	}
	p, err := c.ProbeServer(ctx, "leaky")
	if b, _ := json.Marshal(p); err != nil || strings.Contains(string(b), secret) {
		t.Fatalf("probe: %s %v", b, err)
	}
	l, err := c.AuditEvents(ctx, client.AuditOptions{Limit: 10})
	b, _ := json.Marshal(l)
	if err != nil || strings.Contains(string(b), secret) || !strings.Contains(string(b), "api_key=***") {
		t.Fatalf("audit: %s %v", b, err)
	}
	if m, err := c.GetServer(ctx, "leaky"); err != nil || m.Url != u {
		t.Fatalf("the owner reads %+v (%v), want the stored URL", m, err)
	}
}
