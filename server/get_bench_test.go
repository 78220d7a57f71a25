package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/internal/logx"
	"github.com/agentmcp/agentmcp/server"
)

// BenchmarkGetServer: a cached GET by slug through the whole handler as `serve` builds it
// (read cache, key cache, access log on), without the sockets: the CPU and allocations of
// agentmcp's own path, which wrk's ratios measure together with the kernel's and wrk's.
func BenchmarkGetServer(b *testing.B) {
	env := apitest.Start(b, apitest.OpenSQLite(b), app.Config{KeyCacheTTL: app.DefaultKeyCacheTTL,
		Logger: slog.New(logx.NewJSONHandler(io.Discard, nil))})
	if _, err := env.Client(b, env.KeyA).CreateServer(context.Background(), client.CreateMCPServer{Name: "S", Slug: "s", Url: "https://example.com/mcp"}); err != nil {
		b.Fatal(err)
	}
	h := env.Server.Config.Handler
	req := httptest.NewRequest(http.MethodGet, server.BasePath+"/ai-agents/agent-builder/mcp-servers/s", nil)
	req.Header.Set("apikey", env.KeyA)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
