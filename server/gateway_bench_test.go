package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/server"
)

// BenchmarkGatewayCall: tools/call through an agent's gateway and, in the same run,
// directly against the same upstream (make bench runs it; see docs/performance.md). One
// session calling in turn gives the latency a caller sees (the added p50); 8 concurrent
// sessions saturate the 2 cores and give the rate, where latency is only queueing.
func BenchmarkGatewayCall(b *testing.B) {
	st := apitest.OpenSQLite(b)
	// As served: keys cached (the tests turn the cache off to see revocations at once).
	env, c := gatewayEnv(b, st, func(c *server.Config) { c.KeyCacheTTL = server.DefaultKeyCacheTTL })
	ctx := context.Background()
	// "up" answers at once (loopback echo: the gateway's own cost); "slow" after 1 ms, as
	// a real server at best does (the case a speed trick must win on).
	for _, u := range []struct {
		slug  string
		delay time.Duration
	}{{"up", 0}, {"slow", time.Millisecond}} {
		url := newUpstreamB(b, u.delay)
		if _, err := c.CreateServer(ctx, client.CreateMCPServer{Name: u.slug, Slug: u.slug, Url: url}); err != nil {
			b.Fatal(err)
		}
		uid := "bench-" + u.slug
		if _, err := c.CreateAgent(ctx, client.CreateAgent{Name: uid, Uid: ptr(uid), McpServers: &[]string{u.slug}}); err != nil {
			b.Fatal(err)
		}
		gw := env.URL + "/ai-agents/agent-builder/agents/" + uid + "/mcp"
		prefix := ""
		if u.delay > 0 {
			prefix = "1ms-"
		}
		for _, sessions := range []int{1, 8} {
			for _, target := range []struct{ name, url, tool, key string }{{"direct", url, "echo", ""}, {"gateway", gw, u.slug + "__echo", env.KeyA}} {
				b.Run(fmt.Sprintf("%s%s-%d", prefix, target.name, sessions), func(b *testing.B) {
					gatewayCalls(b, ctx, sessions, target.url, target.tool, target.key)
				})
			}
		}
	}
}

// gatewayCalls makes b.N calls of tool at url over sessions concurrent MCP sessions.
func gatewayCalls(b *testing.B, ctx context.Context, sessions int, url, tool, key string) {
	{
		{
			var css []*mcp.ClientSession
			for range sessions {
				hc := http.DefaultClient
				if key != "" {
					hc = &http.Client{Transport: bearerTransport{key}}
				}
				cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil).Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc}, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer cs.Close()
				css = append(css, cs)
			}
			var left atomic.Int64
			left.Store(int64(b.N))
			lat := make([][]time.Duration, sessions)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for i, cs := range css {
				wg.Go(func() {
					for left.Add(-1) >= 0 {
						t0 := time.Now()
						res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: map[string]any{"x": 1}})
						if err != nil || res.IsError {
							b.Error(err)
							return
						}
						lat[i] = append(lat[i], time.Since(t0))
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			all := slices.Concat(lat...)
			slices.Sort(all)
			if len(all) > 0 {
				b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-us")
				b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-us")
			}
			b.ReportMetric(float64(len(all))/elapsed.Seconds(), "calls/s")
		}
	}
}

// newUpstreamB serves a tool echo that answers after delay.
func newUpstreamB(b *testing.B, delay time.Duration) string {
	s := mcp.NewServer(&mcp.Implementation{Name: "bench-up", Version: "1"}, nil)
	s.AddTool(&mcp.Tool{Name: "echo", InputSchema: map[string]any{"type": "object"}}, func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if delay > 0 {
			time.Sleep(delay) // the upstream's own work, not synchronisation
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(req.Params.Arguments)}}}, nil
	})
	srv := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	b.Cleanup(srv.Close)
	return srv.URL + "/mcp"
}
