package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/store"
)

var fuzzMethods = []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodPut, http.MethodHead, http.MethodOptions}

// FuzzAPI sends arbitrary methods, paths, queries, headers and bodies through the whole
// app.New stack: never a panic, never a 5xx, every error an ErrorResponse, the store
// stays consistent, the X-Request-Id is a safe one, HEAD has no body and 405 says Allow. `make test` runs the seeds; `make fuzz` searches for a minute.
func FuzzAPI(f *testing.F) {
	seeds := []struct {
		method  uint8
		path    string
		key     bool
		ctype   string
		body    string
		headers string
	}{
		{1, "mcp-servers", true, "application/json", `{"name":"A","slug":"a","url":"https://a.example.com"}`, ""},
		{1, "mcp-servers", true, "application/json", `{"name":"","slug":"A B","url":"ftp://x","extra":[1,{"x":null}]}`, ""},
		{0, "mcp-servers?limit=5&affix=append&createdAt=99", true, "", "", ""},
		{0, "mcp-servers?limit=-1&affix=%zz", true, "", "", ""},
		{2, "mcp-servers/a", true, "application/json", `{"slug":"b","name":null}`, ""},
		{3, "mcp-servers/a", true, "", "", ""},
		{1, "agents", true, "application/json", `{"name":"bot","uid":"bot","mcpServers":["a","a","zz"]}`, ""},
		{2, "agents/bot/mcp/add", true, "application/json", `{"mcps":["a"]}`, ""},
		{2, "agents/bot/mcp/remove", true, "application/json; charset=utf-8", `{"mcps":[]}`, ""},
		{0, "agents/bot/enabled-items?key=%00&tools=maybe", true, "", "", ""},
		{1, "mcp-servers/a/probe", true, "", "", ""},
		{0, "mcp-servers/a/tools", false, "", "", ""},
		{4, "mcp-servers/../../etc/passwd", true, "text/plain", "x", ""},
		{1, "mcp-servers", true, "application/json", `{"name":"A","slug":"a","url":"https://a.example.com"} trailing`, ""},
		{1, "mcp-servers", true, "application/json", "\xff\xfe{", "If-Match: x"},
		{5, "", true, "", "", ""},
		// Issue 17: the header and query shapes an attacker tried.
		{0, "mcp-servers?limit=5&limit=7", true, "", "", ""},
		{0, "audit-events?target=%00&action=agent.create&action=agent.delete", true, "", "", ""},
		{0, "audit-events?target=%FF%FE", true, "", "", ""},
		{0, "agents/bot/enabled-items?key=a%01b&tools=true&tools=false", true, "", "", ""},
		{5, "mcp-servers", true, "", "", ""},
		{5, "mcp-servers/a/tools", false, "", "", ""},
		{6, "mcp-servers/a", true, "", "", ""},
		{4, "agents", true, "application/json", "{}", ""},
		{5, "agents/bot/mcp", true, "", "", ""},
		{0, "mcp-servers", false, "", "", "X-Forwarded-For: 127.0.0.1\nX-Forwarded-For: " + strings.Repeat("9", 300) + ", ::1\nX-Real-Ip: 10.0.0.1"},
		{0, "mcp-servers", true, "", "", "X-Request-Id: " + strings.Repeat("r", 5000)},
		{0, "mcp-servers", true, "", "", "X-Request-Id: a b\x00<script>"},
		{1, "mcp-servers", true, "application/json", `{"name":"A","slug":"idem","url":"https://a.example.com"}`, "Idempotency-Key: k\xff\x00"},
		{1, "mcp-servers", true, "application/json", `{"name":"A","slug":"idem","url":"https://a.example.com"}`, "Idempotency-Key: " + strings.Repeat("k", 256)},
		{1, "agents", true, "application/json", `{"name":"a\u0000","metaData":{"k\u0000":"\u0001"},"tools":["\u001b"]}`, ""},
		{2, "mcp-servers/a", true, "application/json", "{\"description\":\"ok\\n\\t\",\"name\":\"\xc3\x28\"}", ""},
		{0, "mcp-servers", true, "", "", "X-Padding: " + strings.Repeat("p", 40<<10)},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.key, s.ctype, []byte(s.body), s.headers)
	}
	st := apitest.OpenSQLite(f)
	// Probes answer at once and touch no network: the URLs here are arbitrary.
	env := apitest.Start(f, st, app.Config{Prober: stubProber{}})
	h := env.Server.Config.Handler
	f.Fuzz(func(t *testing.T, method uint8, path string, key bool, ctype string, body []byte, headers string) {
		target := "/v3/ai-agents/agent-builder/" + path
		req, err := http.NewRequest(fuzzMethods[int(method)%len(fuzzMethods)], "http://x", bytes.NewReader(body))
		if err != nil {
			return
		}
		if req.URL, err = req.URL.Parse(target); err != nil {
			return // not a request an HTTP server could receive
		}
		req.RequestURI = req.URL.RequestURI()
		if key {
			req.Header.Set("apikey", env.KeyA)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		for _, line := range strings.Split(headers, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && k != "" {
				req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
		}
		verb := req.Method
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s → %d: %s", verb, target, rec.Code, rec.Body.Bytes())
		}
		if id := rec.Header().Get("X-Request-Id"); !safeRequestID.MatchString(id) {
			t.Fatalf("%s %s: X-Request-Id %.100q", verb, target, id)
		}
		if verb == http.MethodHead && rec.Body.Len() > 0 {
			t.Fatalf("HEAD %s → %d with a body", target, rec.Code)
		}
		if rec.Code == http.StatusMethodNotAllowed && rec.Header().Get("Allow") == "" {
			t.Fatalf("%s %s → 405 without Allow", verb, target)
		}
		if rec.Code >= 400 && verb != http.MethodHead {
			var e struct {
				StatusCode int    `json:"statusCode"`
				Code       string `json:"code"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.StatusCode != rec.Code || e.Code == "" {
				t.Fatalf("%s %s → %d with a body that is not an ErrorResponse: %q", verb, target, rec.Code, rec.Body.Bytes())
			}
		}
		consistent(t, st, env.AppA)
	})
}

var safeRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

type stubProber struct{}

func (stubProber) Probe(context.Context, string, probe.Auth) probe.Result {
	return probe.Result{Status: probe.StatusUnreachable, CheckedAt: time.Now(), Error: "stub"}
}

// consistent checks the invariants a request must never break: createdAt strictly
// decreasing in a list, every attached slug an existing server.
func consistent(t *testing.T, st store.Store, app string) {
	t.Helper()
	ctx := context.Background()
	servers, err := st.ListMCPServers(ctx, app, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	exists := map[string]bool{}
	for i, s := range servers {
		exists[s.Slug] = true
		if i > 0 && s.CreatedAt >= servers[i-1].CreatedAt {
			t.Fatalf("createdAt order broken: %+v", servers)
		}
	}
	agents, err := st.ListAgents(ctx, app, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		for _, s := range a.MCPServers {
			if !exists[s] && len(servers) < 100 {
				t.Fatalf("agent %s lists missing server %s", a.UID, s)
			}
		}
	}
}
