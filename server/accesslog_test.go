package server_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/internal/logx"
)

// TestAccessLog: one line per request with its final status (errors rendered first), the
// route, and the app of an authenticated caller; the same through logx's lane as through
// slog's own handler; and never the key.
func TestAccessLog(t *testing.T) {
	for name, newHandler := range map[string]func(*apitest.SyncBuffer) slog.Handler{
		"logx": func(b *apitest.SyncBuffer) slog.Handler { return logx.NewJSONHandler(b, nil) },
		"slog": func(b *apitest.SyncBuffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			var buf apitest.SyncBuffer
			h := newHandler(&buf)
			flush := func() {
				if f, ok := h.(interface{ Flush() }); ok {
					f.Flush() // logx gathers access lines for a few milliseconds
				}
			}
			env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{Logger: slog.New(h)})
			list := env.URL + "/ai-agents/agent-builder/mcp-servers"
			seed(t, env.Client(t, env.KeyA), "s")
			flush()
			buf.Reset()
			send(t, http.MethodGet, list+"/s", hdr("apikey", env.KeyA), nil)
			send(t, http.MethodGet, list+"/nope", hdr("apikey", env.KeyA), nil)
			send(t, http.MethodGet, list, hdr("apikey", "amk_wrong"), nil)
			send(t, http.MethodPost, list, hdr("apikey", env.KeyA, "Content-Type", "application/json"), strings.NewReader(strings.Repeat("x", 2<<20)))
			flush()
			route := "/v3/ai-agents/agent-builder/mcp-servers"
			want := []struct {
				method, route string
				status        float64
				app           string
			}{{"GET", route + "/:slug", 200, env.AppA}, {"GET", route + "/:slug", 404, env.AppA}, {"GET", route, 401, ""}, {"POST", route, 413, ""}}
			var got []map[string]any
			for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("not a JSON line: %q", line)
				}
				if m["msg"] == "request" {
					got = append(got, m)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("%d request lines, want %d:\n%s", len(got), len(want), buf.String())
			}
			for i, w := range want {
				g := got[i]
				if g["method"] != w.method || g["route"] != w.route || g["status"] != w.status || g["app_id"] != w.app ||
					g["level"] != "INFO" || len(g["request_id"].(string)) != 32 || g["duration_us"].(float64) < 0 || g["time"] == nil {
					t.Errorf("line %d: %v, want %+v", i, g, w)
				}
			}
			if strings.Contains(buf.String(), env.KeyA) {
				t.Fatal("the key is in the log")
			}
		})
	}
}
