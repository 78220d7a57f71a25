// Package apitest drives a real agentmcp stack in tests: app.New (what serve runs) behind
// httptest.NewServer, seeded apps and keys, and an HTTP client that validates every
// response against openapi.yaml and records which (operation, status) pairs were seen.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/internal/pgtest"
	"github.com/agentmcp/agentmcp/server"
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/postgres"
	"github.com/agentmcp/agentmcp/store/sqlite"
)

// Spec is openapi.yaml as the generated code embeds it, with a relative /v3 server so that
// routes match any test host.
func Spec(t testing.TB) *openapi3.T {
	t.Helper()
	spec, err := gen.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	spec.Servers = openapi3.Servers{{URL: server.BasePath}}
	return spec
}

// Recorder remembers every (operationId, status) a validated response had.
type Recorder struct {
	mu   sync.Mutex
	seen map[string]map[int]bool
}

func NewRecorder() *Recorder { return &Recorder{seen: map[string]map[int]bool{}} }

func (r *Recorder) record(op string, status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[op] == nil {
		r.seen[op] = map[int]bool{}
	}
	r.seen[op][status] = true
}

// Missing lists every operation and documented status of spec that no response had.
func (r *Recorder) Missing(spec *openapi3.T) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			for code := range op.Responses.Map() {
				var status int
				if _, err := fmt.Sscan(code, &status); err != nil {
					continue
				}
				if !r.seen[op.OperationID][status] {
					out = append(out, fmt.Sprintf("%s %s (%s) → %d", method, path, op.OperationID, status))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// Doer is an http client that validates each response against the spec: a response that
// breaks openapi.yaml fails the test.
type Doer struct {
	t      testing.TB
	spec   *openapi3.T
	router routers.Router
	rec    *Recorder
	hc     *http.Client
}

func NewDoer(t testing.TB, rec *Recorder) *Doer {
	spec := Spec(t)
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		t.Fatal(err)
	}
	return &Doer{t: t, spec: spec, router: router, rec: rec, hc: &http.Client{}}
}

func (d *Doer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.hc.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	d.validate(req, resp, body)
	return resp, nil
}

func (d *Doer) validate(req *http.Request, resp *http.Response, body []byte) {
	d.t.Helper()
	route, params, err := d.router.FindRoute(req)
	if err != nil {
		// Not an operation of the spec (e.g. an unknown path): the body must still be an ErrorResponse.
		if resp.StatusCode >= 400 {
			d.checkSchema(req, resp, body, "ErrorResponse")
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		d.t.Errorf("%s %s → %d breaks openapi.yaml: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	if resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotFound && route.Operation == nil {
		return
	}
	d.rec.record(route.Operation.OperationID, resp.StatusCode)
}

func (d *Doer) checkSchema(req *http.Request, resp *http.Response, body []byte, name string) {
	d.t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		d.t.Errorf("%s %s → %d: body is not JSON: %q", req.Method, req.URL.Path, resp.StatusCode, body)
		return
	}
	if err := d.spec.Components.Schemas[name].Value.VisitJSON(v); err != nil {
		d.t.Errorf("%s %s → %d: body is not a %s: %v", req.Method, req.URL.Path, resp.StatusCode, name, err)
	}
}

// Env is a running agentmcp with two apps, each with a fullAccess key, plus an authOnly key
// and a revoked key of app A.
type Env struct {
	Server *httptest.Server
	URL    string // base URL of the API, ending in /v3
	Store  store.Store
	App    *app.App
	Rec    *Recorder
	Doer   *Doer

	AppA, AppB           string
	KeyA, KeyB           string
	AuthOnlyKey, Revoked string
}

// OpenSQLite opens a fresh SQLite store in a temporary directory, closed at cleanup.
func OpenSQLite(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "agentmcp.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// OpenPostgres opens a store on a fresh PostgreSQL database (see internal/pgtest).
func OpenPostgres(t testing.TB) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// NewKey creates a key of scope in app and returns its secret.
func NewKey(t testing.TB, st store.Store, app string, scope store.Scope) (store.APIKey, string) {
	t.Helper()
	k, secret := store.NewAPIKey(app, scope)
	if err := st.CreateAPIKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return k, secret
}

// New builds the production stack (app.New) over st with cfg, closed at cleanup.
func New(t testing.TB, st store.Store, cfg app.Config) *app.App {
	t.Helper()
	cfg.Store = st
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return a
}

// Start serves st with cfg (the key cache is off unless cfg sets it, so revocation in
// tests is immediate) and seeds apps "app-a" and "app-b". Env.Store is the app's store
// (st behind the change feed and the read cache): write through it, not st, so the cache
// hears of the change as it hears of the API's.
func Start(t testing.TB, st store.Store, cfg app.Config) *Env {
	t.Helper()
	if cfg.KeyCacheTTL == 0 {
		cfg.KeyCacheTTL = -1
	}
	a := New(t, st, cfg)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	st = a.Store()
	env := &Env{Server: srv, URL: srv.URL + server.BasePath, Store: st, App: a, Rec: NewRecorder(), AppA: "app-a", AppB: "app-b"}
	env.Doer = NewDoer(t, env.Rec)
	ctx := context.Background()
	for _, app := range []string{env.AppA, env.AppB} {
		if _, err := st.CreateApp(ctx, app); err != nil {
			t.Fatal(err)
		}
	}
	_, env.KeyA = NewKey(t, st, env.AppA, store.ScopeFullAccess)
	_, env.KeyB = NewKey(t, st, env.AppB, store.ScopeFullAccess)
	_, env.AuthOnlyKey = NewKey(t, st, env.AppA, store.ScopeAuthOnly)
	rk, revoked := NewKey(t, st, env.AppA, store.ScopeFullAccess)
	if err := st.RevokeAPIKey(ctx, rk.ID); err != nil {
		t.Fatal(err)
	}
	env.Revoked = revoked
	return env
}

// Gen is the generated client with key, validating every response.
func (e *Env) Gen(t testing.TB, key string) *gen.ClientWithResponses {
	t.Helper()
	c, err := gen.NewClientWithResponses(e.URL, gen.WithHTTPClient(e.Doer),
		gen.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			if key != "" {
				r.Header.Set("apikey", key)
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Client is the client package with key, validating every response.
func (e *Env) Client(t testing.TB, key string) *client.Client {
	t.Helper()
	c, err := client.New(e.URL, key, client.WithHTTPClient(e.Doer))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Raw sends a hand-made request (path is below /v3) through the validating doer and
// returns the status and the body.
func (e *Env) Raw(t testing.TB, method, path, key, contentType string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("apikey", key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.Doer.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// DecodeError parses an ErrorResponse body.
func DecodeError(t testing.TB, body []byte) gen.ErrorResponse {
	t.Helper()
	var r gen.ErrorResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("not an ErrorResponse: %v: %s", err, body)
	}
	return r
}

// Fields lists the fields named by an ErrorResponse's details, sorted.
func Fields(r gen.ErrorResponse) []string {
	out := make([]string, len(r.Details))
	for i, d := range r.Details {
		out[i] = d.Field
	}
	sort.Strings(out)
	return out
}

// JSON marshals v or fails the test.
func JSON(t testing.TB, v any) io.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReader(string(b))
}

// Op is one API operation as a raw request, for matrices over every operation.
type Op struct {
	ID, Method, Path, Body string
}

// Ops lists every operation of openapi.yaml with a valid request that targets MCP server
// slug and agent uid.
func Ops(slug, uid string) []Op {
	const base = "/ai-agents/agent-builder/mcp-servers"
	const agents = "/ai-agents/agent-builder/agents"
	return []Op{
		{"McpServersController_createMcpServer", http.MethodPost, base, `{"name":"New","slug":"new-` + slug + `","url":"https://new.example.com/mcp"}`},
		{"McpServersController_getAllMcpServers", http.MethodGet, base, ""},
		{"McpServersController_getMcpServerBySlug", http.MethodGet, base + "/" + slug, ""},
		{"McpServersController_updateMcpServer", http.MethodPatch, base + "/" + slug, `{"name":"Changed"}`},
		{"McpServersController_deleteMcpServer", http.MethodDelete, base + "/" + slug, ""},
		{"McpServersController_probeMcpServer", http.MethodPost, base + "/" + slug + "/probe", ""},
		{"McpServersController_getMcpServerTools", http.MethodGet, base + "/" + slug + "/tools", ""},
		{"McpServersController_getLastProbe", http.MethodGet, base + "/" + slug + "/probe", ""},
		{"McpServersController_authorizeOAuth", http.MethodPost, base + "/" + slug + "/oauth/authorize", ""},
		{"AgentBuilderController_createAgent", http.MethodPost, agents, `{"name":"New","uid":"new-` + uid + `"}`},
		{"AgentBuilderController_getAllAgents", http.MethodGet, agents, ""},
		{"AgentBuilderController_getAgentByUid", http.MethodGet, agents + "/" + uid, ""},
		{"AgentBuilderController_updateAgent", http.MethodPatch, agents + "/" + uid, `{"name":"Changed"}`},
		{"AgentBuilderController_deleteAgent", http.MethodDelete, agents + "/" + uid, ""},
		{"AgentBuilderController_addMcpServersToAgent", http.MethodPatch, agents + "/" + uid + "/mcp/add", `{"mcps":["` + slug + `"]}`},
		{"AgentBuilderController_removeMcpServersFromAgent", http.MethodPatch, agents + "/" + uid + "/mcp/remove", `{"mcps":["` + slug + `"]}`},
		{"AgentBuilderController_getEnabledItems", http.MethodGet, agents + "/" + uid + "/enabled-items", ""},
		{"AuditController_getAuditEvents", http.MethodGet, "/ai-agents/agent-builder/audit-events", ""},
		{"AgentKeysController_createAgentKey", http.MethodPost, agents + "/" + uid + "/keys", `{"name":"runtime"}`},
		{"AgentKeysController_listAgentKeys", http.MethodGet, agents + "/" + uid + "/keys", ""},
		{"AgentKeysController_revokeAgentKey", http.MethodDelete, agents + "/" + uid + "/keys/key_0123456789ab", ""},
		{"RegistryController_getRegistry", http.MethodGet, "/ai-agents/agent-builder/registry", ""},
		{"RegistryController_setRegistry", http.MethodPut, "/ai-agents/agent-builder/registry", `{"enabled":false}`},
		{"AgentOAuthController_listGrants", http.MethodGet, agents + "/" + uid + "/oauth-grants", ""},
		{"AgentOAuthController_revokeGrant", http.MethodDelete, agents + "/" + uid + "/oauth-grants/g_0123456789ab", ""},
		{"AgentToolPolicy_listChanges", http.MethodGet, agents + "/" + uid + "/tool-changes", ""},
		{"AgentToolPolicy_decide", http.MethodPost, agents + "/" + uid + "/tool-changes/" + strings.Repeat("0", 64) + "/approve", ""},
	}
}

// Do sends op with key.
func (e *Env) Do(t testing.TB, op Op, key string) (int, []byte) {
	t.Helper()
	ct := ""
	if op.Body != "" {
		ct = "application/json"
	}
	return e.Raw(t, op.Method, op.Path, key, ct, strings.NewReader(op.Body))
}

// MCPServer starts a real MCP server (the official SDK, Streamable HTTP) with n tools on
// loopback and returns its URL.
func MCPServer(t testing.TB, n int) string {
	t.Helper()
	s := mcp.NewServer(&mcp.Implementation{Name: "fixture", Version: "0.1"}, nil)
	for i := range n {
		s.AddTool(&mcp.Tool{Name: fmt.Sprintf("tool_%d", i), Description: "tool number " + fmt.Sprint(i),
			InputSchema: map[string]any{"type": "object"}}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{}, nil
		})
	}
	srv := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp"
}

// SyncBuffer is a bytes.Buffer that a server's log (or a child process's output) may write
// while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *SyncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}
