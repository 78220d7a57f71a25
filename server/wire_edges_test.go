package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
)

// send makes one request with plain net/http (no spec validation: some of these answers are
// outside any operation) and returns the response with its body read.
func send(t *testing.T, method, url string, header http.Header, body io.Reader) rawResponse {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResponse{resp, b}
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// TestForwardedFor: by default X-Forwarded-For is the client's word and is ignored, so a new
// value per request does not escape the per-address limit; behind --trusted-proxies the
// address the proxy saw is used (the nearest untrusted one), IPv6 by /64.
func TestForwardedFor(t *testing.T) {
	list := "/ai-agents/agent-builder/mcp-servers"
	// Address burst 10 (10 × RateBurst), a token an hour: no refill while the test runs.
	cfg := app.Config{RateLimit: 100, RateBurst: 1, IPRateLimit: 1.0 / 3600}
	env := apitest.Start(t, apitest.OpenSQLite(t), cfg)
	statuses := map[int]int{}
	for i := range 15 {
		statuses[send(t, http.MethodGet, env.URL+list, hdr("apikey", "amk_guess", "X-Forwarded-For", "198.51.100."+string(rune('a'+i))), nil).StatusCode]++
	}
	if statuses[http.StatusUnauthorized] != 10 || statuses[http.StatusTooManyRequests] != 5 {
		t.Fatalf("distinct X-Forwarded-For values from one connection: %v", statuses)
	}

	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	env = apitest.Start(t, apitest.OpenSQLite(t), cfg)
	get := func(xff string) int {
		return send(t, http.MethodGet, env.URL+list, hdr("apikey", "amk_guess", "X-Forwarded-For", xff), nil).StatusCode
	}
	for range 10 {
		if st := get("203.0.113.7"); st != http.StatusUnauthorized {
			t.Fatalf("within the burst: %d", st)
		}
	}
	if st := get("203.0.113.7"); st != http.StatusTooManyRequests {
		t.Fatalf("203.0.113.7 past its burst: %d", st)
	}
	// What the client wrote left of the proxy's entry does not give it a new bucket.
	if st := get("192.0.2.1, 203.0.113.7"); st != http.StatusTooManyRequests {
		t.Fatalf("a spoofed first hop escaped the limit: %d", st)
	}
	if st := get("203.0.113.8"); st != http.StatusUnauthorized {
		t.Fatalf("another client behind the proxy was limited: %d", st)
	}
	for range 10 {
		get("2001:db8:1:2::1")
	}
	if st := get("2001:db8:1:2:ffff::9"); st != http.StatusTooManyRequests {
		t.Fatalf("another address of the same IPv6 /64 escaped the limit: %d", st)
	}
	if st := get("2001:db8:1:3::1"); st != http.StatusUnauthorized {
		t.Fatalf("another /64 was limited: %d", st)
	}
}

// TestControlCharacters: every string field and query parameter refuses control characters
// (description and instruction allow tab and newlines), 400 naming the field, the same on
// both backends, and nothing is written.
func TestControlCharacters(t *testing.T)         { controlCharacters(t, apitest.OpenSQLite(t)) }
func TestControlCharactersPostgres(t *testing.T) { controlCharacters(t, apitest.OpenPostgres(t)) }

func controlCharacters(t *testing.T, st store.Store) {
	env := apitest.Start(t, st, app.Config{})
	const servers, agents = "/ai-agents/agent-builder/mcp-servers", "/ai-agents/agent-builder/agents"
	seed(t, env.Client(t, env.KeyA), "s")
	if status, body := env.Raw(t, http.MethodPost, agents, env.KeyA, "application/json", strings.NewReader(`{"name":"Bot","uid":"bot"}`)); status != http.StatusCreated {
		t.Fatalf("seed agent: %d %s", status, body)
	}
	cases := []struct {
		method, path, body, field string
	}{
		{"POST", servers, `{"name":"a\u0000b","slug":"n1","url":"https://x.example.com"}`, "name"},
		{"POST", servers, `{"name":"a","slug":"n2","url":"https://x.example.com","description":"x\u0000"}`, "description"},
		{"POST", servers, `{"name":"a","slug":"n3","url":"https://x.example.com","description":"bell \u0007"}`, "description"},
		{"POST", servers, `{"name":"a\u001b[31m","slug":"n4","url":"https://x.example.com"}`, "name"},
		{"POST", servers, `{"name":"a\u007f","slug":"n5","url":"https://x.example.com"}`, "name"},
		{"PATCH", servers + "/s", `{"name":"\u0000"}`, "name"},
		{"PATCH", servers + "/s", `{"description":"\u0000"}`, "description"},
		{"POST", agents, `{"name":"b","instruction":"\u0000"}`, "instruction"},
		{"POST", agents, `{"name":"b","tools":["ok","ba\u0000d"]}`, "tools.1"},
		{"POST", agents, `{"name":"b","metaData":{"k":{"deep":"\u0000"}}}`, "metaData.k.deep"},
		{"POST", agents, `{"name":"b","metaData":{"k":["\u0001"]}}`, "metaData.k.0"},
		{"POST", agents, `{"name":"b","metaData":{"k\u0000":1}}`, "metaData"},
		{"POST", agents, `{"name":"b","model":"gpt\u0000"}`, "model"},
		{"PATCH", agents + "/bot", `{"modelMetaData":{"x":"\u0000"}}`, "modelMetaData.x"},
		{"GET", "/ai-agents/agent-builder/audit-events?target=%00", "", "query.target"},
		{"GET", "/ai-agents/agent-builder/audit-events?target=%FF", "", "query.target"},
		{"GET", agents + "/bot/enabled-items?key=a%01", "", "query.key"},
	}
	for _, tc := range cases {
		before := snapshot(t, st, env.AppA)
		ct := ""
		if tc.body != "" {
			ct = "application/json"
		}
		status, body := env.Raw(t, tc.method, tc.path, env.KeyA, ct, strings.NewReader(tc.body))
		e := wantError(t, status, body, http.StatusBadRequest, httpx.CodeValidation)
		if got := apitest.Fields(e); len(got) != 1 || got[0] != tc.field {
			t.Errorf("%s %s %s: fields %v, want %s", tc.method, tc.path, tc.body, got, tc.field)
		}
		if snapshot(t, st, env.AppA) != before {
			t.Fatalf("%s %s: a refused request wrote", tc.method, tc.path)
		}
	}
	// Text fields keep tab and newlines.
	status, body := env.Raw(t, http.MethodPost, servers, env.KeyA, "application/json",
		strings.NewReader(`{"name":"Multi","slug":"multi","url":"https://x.example.com","description":"line 1\nline 2\r\n\tend"}`))
	if status != http.StatusCreated || !strings.Contains(string(body), `line 1\nline 2\r\n\tend`) {
		t.Fatalf("multi-line description: %d %s", status, body)
	}
	status, body = env.Raw(t, http.MethodPost, agents, env.KeyA, "application/json",
		strings.NewReader(`{"name":"Multi","instruction":"be\n\tkind","metaData":{"note":"a\nb"}}`))
	if status != http.StatusCreated {
		t.Fatalf("multi-line instruction: %d %s", status, body)
	}
}

// TestRequestID: a short id of safe characters is kept; anything else is replaced by a
// generated one; the audit trail records the id the response carries.
func TestRequestID(t *testing.T) {
	env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{})
	safe := regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	for i, tc := range []struct {
		sent string
		kept bool
	}{
		{"req-1.A_b", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{strings.Repeat("x", 8<<10), false},
		{"<script>", false},
		{"a b", false},
		{"", false},
	} {
		slug := "rid-" + string(rune('a'+i))
		h := hdr("apikey", env.KeyA, "Content-Type", "application/json")
		if tc.sent != "" {
			h.Set("X-Request-Id", tc.sent)
		}
		r := send(t, http.MethodPost, env.URL+"/ai-agents/agent-builder/mcp-servers", h,
			strings.NewReader(`{"name":"n","slug":"`+slug+`","url":"https://x.example.com"}`))
		got := r.Header.Get("X-Request-Id")
		if r.StatusCode != http.StatusCreated || !safe.MatchString(got) || (got == tc.sent) != tc.kept {
			t.Fatalf("sent %.80q: %d, X-Request-Id %q", tc.sent, r.StatusCode, got)
		}
		events, err := env.Store.ListAuditEvents(context.Background(), env.AppA, store.AuditQuery{Limit: 1, Target: store.ServerTarget(slug)})
		if err != nil || len(events) != 1 || events[0].RequestID != got {
			t.Fatalf("audit of %s: %+v %v, want request id %q", slug, events, err, got)
		}
	}
}

// TestToolsWithoutObjectSchema: a server whose tools' inputSchema is a string or an array
// is probed and its tools are served, each such tool marked invalid; so are tools stored
// that way by an older agentmcp. Never a 500.
func TestToolsWithoutObjectSchema(t *testing.T) {
	up := newHostileMCP(t, 1, func(_ int, w io.Writer) {
		io.WriteString(w, `[{"name":"str","inputSchema":"a string"},{"name":"arr","inputSchema":[1,2]},{"name":"nul","inputSchema":null},`+
			`{"name":"good","inputSchema":{"type":"object","properties":{"q":{"type":"string"}}}}]`)
	})
	st := apitest.OpenSQLite(t)
	env := apitest.Start(t, st, app.Config{Prober: probe.New(probe.Options{AllowPrivate: true, Timeout: 10 * time.Second})})
	c := env.Gen(t, env.KeyA)
	ctx := context.Background()
	if cr, _ := c.McpServersControllerCreateMcpServerWithResponse(ctx, nil, gen.CreateMcpServerDto{Name: "T", Slug: "odd", Url: up.URL}); cr.StatusCode() != http.StatusCreated {
		t.Fatalf("create: %s", cr.Body)
	}
	pr, _ := c.McpServersControllerProbeMcpServerWithResponse(ctx, "odd")
	if pr.StatusCode() != http.StatusOK || pr.JSON200.Status != "ok" || pr.JSON200.ToolCount != 4 {
		t.Fatalf("probe: %d %s", pr.StatusCode(), pr.Body)
	}
	checkTools := func(slug string) {
		t.Helper()
		for range 2 { // a lasting 500 would show on the second read too
			tr, _ := c.McpServersControllerGetMcpServerToolsWithResponse(ctx, slug)
			if tr.StatusCode() != http.StatusOK || len(tr.JSON200.Tools) != 4 {
				t.Fatalf("tools of %s: %d %s", slug, tr.StatusCode(), tr.Body)
			}
			for _, tool := range tr.JSON200.Tools {
				invalid := tool.Invalid != nil && *tool.Invalid != ""
				if (tool.Name == "good") == invalid || (tool.Name == "good") != (tool.InputSchema != nil) {
					t.Fatalf("tool %s of %s: %s", tool.Name, slug, tr.Body)
				}
			}
		}
	}
	checkTools("odd")

	// Stored by an older agentmcp, as the server sent it.
	seed(t, env.Client(t, env.KeyA), "old")
	old := `[{"name":"str","inputSchema":"a string"},{"name":"arr","inputSchema":[1,2]},{"name":"nul","inputSchema":null,"annotations":"x"},{"name":"good","inputSchema":{"type":"object"}}]`
	if err := st.SaveProbe(ctx, env.AppA, "old", store.ProbeRecord{Status: "ok", CheckedAt: 1, ToolCount: 4, Tools: []byte(old)}); err != nil {
		t.Fatal(err)
	}
	checkTools("old")
}

// TestDeadline503: a request that runs out of time is 503 ERR_UNAVAILABLE with Retry-After
// on both backends, whatever the store returned.
func TestDeadline503(t *testing.T)         { deadline503(t, apitest.OpenSQLite(t)) }
func TestDeadline503Postgres(t *testing.T) { deadline503(t, apitest.OpenPostgres(t)) }

func deadline503(t *testing.T, st store.Store) {
	env := apitest.Start(t, st, app.Config{RequestTimeout: time.Nanosecond})
	for _, op := range apitest.Ops("s", "bot") {
		req, _ := http.NewRequest(op.Method, env.URL+op.Path, strings.NewReader(op.Body))
		req.Header.Set("apikey", env.KeyA)
		if op.Body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := env.Doer.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		wantError(t, resp.StatusCode, b, http.StatusServiceUnavailable, httpx.CodeUnavailable)
		if resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: 503 without Retry-After", op.ID)
		}
	}
}

// TestWireStatuses: the statuses and bodies of issue 17's item 8.
func TestWireStatuses(t *testing.T) {
	env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{})
	seed(t, env.Client(t, env.KeyA), "s")
	list := env.URL + "/ai-agents/agent-builder/mcp-servers"
	key := hdr("apikey", env.KeyA)

	r := send(t, http.MethodGet, list+"?limit=5&limit=7", key, nil)
	if e := wantError(t, r.StatusCode, r.body, http.StatusBadRequest, httpx.CodeValidation); !slices.Equal(apitest.Fields(e), []string{"query.limit"}) {
		t.Fatalf("repeated limit: %s", r.body)
	}

	big := io.MultiReader(strings.NewReader(`{"name":"`), strings.NewReader(strings.Repeat("x", 2<<20)), strings.NewReader(`"}`))
	r = send(t, http.MethodPost, list, hdr("apikey", env.KeyA, "Content-Type", "application/json"), big) // no length: chunked
	wantError(t, r.StatusCode, r.body, http.StatusRequestEntityTooLarge, httpx.CodePayloadTooLarge)

	r = send(t, http.MethodPut, list+"/s", hdr("apikey", env.KeyA, "Content-Type", "application/json"), strings.NewReader("{}"))
	wantError(t, r.StatusCode, r.body, http.StatusMethodNotAllowed, httpx.CodeMethodNotAllowed)
	if allow := r.Header.Get("Allow"); allow != "DELETE, GET, HEAD, PATCH" {
		t.Fatalf("405 Allow %q", allow)
	}
	r = send(t, http.MethodDelete, list, key, nil)
	if allow := r.Header.Get("Allow"); r.StatusCode != http.StatusMethodNotAllowed || allow != "GET, HEAD, POST" {
		t.Fatalf("405 on the list: %d Allow %q", r.StatusCode, allow)
	}

	for _, tc := range []struct {
		url    string
		key    http.Header
		status int
	}{{list, key, 200}, {list + "/s", key, 200}, {list + "/nope", key, 404}, {list, nil, 401}, {env.URL + "/ai-agents/agent-builder/agents/x/enabled-items", key, 404}} {
		r := send(t, http.MethodHead, tc.url, tc.key, nil)
		if r.StatusCode != tc.status || len(r.body) != 0 {
			t.Fatalf("HEAD %s: %d with %d bytes", tc.url, r.StatusCode, len(r.body))
		}
		if g := send(t, http.MethodGet, tc.url, tc.key, nil); g.StatusCode != tc.status || g.Header.Get("ETag") != r.Header.Get("ETag") {
			t.Fatalf("GET %s: %d, ETag %q vs HEAD's %q", tc.url, g.StatusCode, g.Header.Get("ETag"), r.Header.Get("ETag"))
		}
	}

	// The agents' MCP gateway streams on GET: HEAD is not a GET there, and its 405 says so.
	for _, m := range []string{http.MethodHead, http.MethodPut} {
		r := send(t, m, env.URL+"/ai-agents/agent-builder/agents/bot/mcp", key, nil)
		if r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "DELETE, GET, POST" {
			t.Fatalf("%s on the gateway: %d Allow %q", m, r.StatusCode, r.Header.Get("Allow"))
		}
	}

	r = send(t, http.MethodGet, list, hdr("apikey", env.KeyA, "X-Padding", strings.Repeat("p", 40<<10)), nil)
	if e := wantError(t, r.StatusCode, r.body, http.StatusRequestHeaderFieldsTooLarge, httpx.CodeHeadersTooLarge); e.Message == "" || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("431: %v %s", r.Header, r.body)
	}

	r = send(t, http.MethodPost, list, hdr("apikey", env.KeyA, "Content-Type", "application/json"),
		strings.NewReader("{\"name\":\"bad \xff\",\"slug\":\"utf\",\"url\":\"https://x.example.com\"}"))
	if e := wantError(t, r.StatusCode, r.body, http.StatusBadRequest, httpx.CodeInvalidJSON); !slices.Equal(apitest.Fields(e), []string{"body"}) {
		t.Fatalf("invalid UTF-8: %s", r.body)
	}
	if _, err := env.Store.GetMCPServer(context.Background(), env.AppA, "utf"); err == nil {
		t.Fatal("a body of invalid UTF-8 was stored")
	}
}

// TestDocsSecurityHeaders: /docs and its files carry CSP, X-Frame-Options, nosniff and
// Referrer-Policy, and Swagger UI is not told to persist the key.
func TestDocsSecurityHeaders(t *testing.T) {
	env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{})
	for _, path := range []string{"/docs", "/docs/", "/docs/init.js", "/docs/swagger-ui/swagger-ui.css", "/openapi.yaml"} {
		r := send(t, http.MethodGet, env.Server.URL+path, nil, nil)
		h := r.Header
		if r.StatusCode != http.StatusOK || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			!strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("%s: %d %v", path, r.StatusCode, h)
		}
		if path == "/docs/init.js" && strings.Contains(string(r.body), "persistAuthorization: true") {
			t.Fatal("Swagger UI persists the key in localStorage")
		}
	}
}

// TestIdempotencyKeyBounds: a key is at most 255 visible ASCII characters (400 naming the
// header otherwise, on both backends), and an app holds at most the cap of live keys: past
// it, a new key is 429 while replays of held keys still work.
func TestIdempotencyKeyBounds(t *testing.T)         { idempotencyKeyBounds(t, apitest.OpenSQLite(t)) }
func TestIdempotencyKeyBoundsPostgres(t *testing.T) { idempotencyKeyBounds(t, apitest.OpenPostgres(t)) }

func idempotencyKeyBounds(t *testing.T, st store.Store) {
	env := apitest.Start(t, st, app.Config{IdempotencyKeysPerApp: 3})
	create := func(key, idemKey, slug string) rawResponse {
		t.Helper()
		h := hdr("apikey", key, "Content-Type", "application/json")
		if idemKey != "" {
			h["Idempotency-Key"] = []string{idemKey}
		}
		body, _ := json.Marshal(map[string]string{"name": "n", "slug": slug, "url": "https://x.example.com"})
		return send(t, http.MethodPost, env.URL+"/ai-agents/agent-builder/mcp-servers", h, strings.NewReader(string(body)))
	}
	for _, bad := range []string{strings.Repeat("k", 256), "clé", "k\xff", "two words"} {
		r := create(env.KeyA, bad, "bad")
		if e := wantError(t, r.StatusCode, r.body, http.StatusBadRequest, httpx.CodeValidation); !slices.Equal(apitest.Fields(e), []string{"header.Idempotency-Key"}) {
			t.Fatalf("key %.20q: %s", bad, r.body)
		}
	}
	if r := create(env.KeyA, strings.Repeat("k", 255), "k1"); r.StatusCode != http.StatusCreated {
		t.Fatalf("a 255-character key: %d %s", r.StatusCode, r.body)
	}
	first := create(env.KeyA, "k-2", "k2")
	create(env.KeyA, "k-3", "k3")
	r := create(env.KeyA, "k-4", "k4")
	if wantError(t, r.StatusCode, r.body, http.StatusTooManyRequests, httpx.CodeRateLimited); r.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	if _, err := st.GetMCPServer(context.Background(), env.AppA, "k4"); err == nil {
		t.Fatal("a create refused for its key was written")
	}
	// A held key is still replayed.
	if again := create(env.KeyA, "k-2", "k2"); again.StatusCode != http.StatusCreated || again.Header.Get("Idempotency-Replayed") != "true" || string(again.body) != string(first.body) {
		t.Fatalf("replay past the cap: %d %s", again.StatusCode, again.body)
	}
	if r := create(env.KeyA, "", "nokey"); r.StatusCode != http.StatusCreated {
		t.Fatalf("a create without a key past the cap: %d %s", r.StatusCode, r.body)
	}
	if r := create(env.KeyB, "k-4", "k4"); r.StatusCode != http.StatusCreated {
		t.Fatalf("another app's first key: %d %s", r.StatusCode, r.body)
	}
}
