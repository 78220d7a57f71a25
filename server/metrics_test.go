package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
)

// TestMetrics: /metrics has the request counter and histogram by route template (never a
// slug), store latency, pool gauges and probe outcomes.
func TestMetrics(t *testing.T) {
	env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{})
	c := env.Client(t, env.KeyA)
	// A loopback URL: the default prober refuses it without a connection.
	if _, err := c.CreateServer(context.Background(), client.CreateMCPServer{Name: "s", Slug: "secret-slug-123", Url: "http://127.0.0.1:9/mcp"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetServer(context.Background(), "secret-slug-123"); err != nil {
		t.Fatal(err)
	}
	c.GetServer(context.Background(), "missing-slug-456")
	if _, err := c.ProbeServer(context.Background(), "secret-slug-123"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(env.Server.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(b)
	for _, want := range []string{
		`agentmcp_http_requests_total{method="GET",route="/v3/ai-agents/agent-builder/mcp-servers/:slug",status="200"} 1`,
		`agentmcp_http_requests_total{method="GET",route="/v3/ai-agents/agent-builder/mcp-servers/:slug",status="404"} 1`,
		`agentmcp_http_requests_total{method="POST",route="/v3/ai-agents/agent-builder/mcp-servers",status="201"} 1`,
		`agentmcp_http_request_duration_seconds_bucket{method="GET",route="/v3/ai-agents/agent-builder/mcp-servers/:slug",status="200",le="+Inf"} 1`,
		`agentmcp_store_operation_duration_seconds_count{op="get_mcp_server"}`,
		`agentmcp_db_connections{state="max"}`,
		`agentmcp_probes_total{status="blocked"}`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(text, "secret-slug-123") || strings.Contains(text, "missing-slug-456") {
		t.Fatal("a slug is a label value")
	}
}
