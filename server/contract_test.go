package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/internal/apitest"
	"github.com/agentmcp/agentmcp/internal/app"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
)

// faultStore fails every MCP server call while fail is set, to reach the 500 paths.
type faultStore struct {
	store.Store
	fail atomic.Pointer[error]
}

var (
	errInjected    = errors.New("injected fault: secret internal detail")
	errUnavailable = fmt.Errorf("%w: injected: connection refused", store.ErrUnavailable)
)

func (f *faultStore) check() error {
	if e := f.fail.Load(); e != nil {
		return *e
	}
	return nil
}

func (f *faultStore) CreateMCPServer(ctx context.Context, app string, in store.NewMCPServer) (store.MCPServer, error) {
	if err := f.check(); err != nil {
		return store.MCPServer{}, err
	}
	return f.Store.CreateMCPServer(ctx, app, in)
}

func (f *faultStore) GetMCPServer(ctx context.Context, app, slug string) (store.MCPServer, error) {
	if err := f.check(); err != nil {
		return store.MCPServer{}, err
	}
	return f.Store.GetMCPServer(ctx, app, slug)
}

func (f *faultStore) UpdateMCPServer(ctx context.Context, app, slug string, p store.MCPServerPatch, pre store.Precondition) (before, after store.MCPServer, err error) {
	if err := f.check(); err != nil {
		return store.MCPServer{}, store.MCPServer{}, err
	}
	return f.Store.UpdateMCPServer(ctx, app, slug, p, pre)
}

func (f *faultStore) DeleteMCPServer(ctx context.Context, app, slug string, pre store.Precondition) error {
	if err := f.check(); err != nil {
		return err
	}
	return f.Store.DeleteMCPServer(ctx, app, slug, pre)
}

func (f *faultStore) ListMCPServers(ctx context.Context, app string, p store.Page) ([]store.MCPServer, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	return f.Store.ListMCPServers(ctx, app, p)
}

func (f *faultStore) CreateAgent(ctx context.Context, a store.Agent) (store.Agent, error) {
	if err := f.check(); err != nil {
		return store.Agent{}, err
	}
	return f.Store.CreateAgent(ctx, a)
}

func (f *faultStore) ListToolPins(ctx context.Context, app, uid string) ([]store.ToolPin, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	return f.Store.ListToolPins(ctx, app, uid)
}

func (f *faultStore) DecideToolChange(ctx context.Context, app, uid, hash string, approve bool) (store.ToolPin, error) {
	if err := f.check(); err != nil {
		return store.ToolPin{}, err
	}
	return f.Store.DecideToolChange(ctx, app, uid, hash, approve)
}

func (f *faultStore) GetAgent(ctx context.Context, app, uid string) (store.Agent, error) {
	if err := f.check(); err != nil {
		return store.Agent{}, err
	}
	return f.Store.GetAgent(ctx, app, uid)
}

func (f *faultStore) UpdateAgent(ctx context.Context, app, uid string, p store.AgentPatch, pre store.Precondition) (store.Agent, error) {
	if err := f.check(); err != nil {
		return store.Agent{}, err
	}
	return f.Store.UpdateAgent(ctx, app, uid, p, pre)
}

func (f *faultStore) DeleteAgent(ctx context.Context, app, uid string, pre store.Precondition) error {
	if err := f.check(); err != nil {
		return err
	}
	return f.Store.DeleteAgent(ctx, app, uid, pre)
}

func (f *faultStore) ListAgents(ctx context.Context, app string, p store.Page) ([]store.Agent, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	return f.Store.ListAgents(ctx, app, p)
}

func (f *faultStore) AttachMCPServers(ctx context.Context, app, uid string, slugs []string) (store.Agent, error) {
	if err := f.check(); err != nil {
		return store.Agent{}, err
	}
	return f.Store.AttachMCPServers(ctx, app, uid, slugs)
}

func (f *faultStore) DetachMCPServers(ctx context.Context, app, uid string, slugs []string) (store.Agent, error) {
	if err := f.check(); err != nil {
		return store.Agent{}, err
	}
	return f.Store.DetachMCPServers(ctx, app, uid, slugs)
}

func (f *faultStore) AgentMCPServers(ctx context.Context, app, uid string) ([]store.MCPServer, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	return f.Store.AgentMCPServers(ctx, app, uid)
}

func (f *faultStore) SaveProbe(ctx context.Context, app, slug string, r store.ProbeRecord) error {
	if err := f.check(); err != nil {
		return err
	}
	return f.Store.SaveProbe(ctx, app, slug, r)
}

func (f *faultStore) GetProbe(ctx context.Context, app, slug string) (store.ProbeRecord, error) {
	if err := f.check(); err != nil {
		return store.ProbeRecord{}, err
	}
	return f.Store.GetProbe(ctx, app, slug)
}

func (f *faultStore) ListAuditEvents(ctx context.Context, app string, q store.AuditQuery) ([]store.AuditEvent, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	return f.Store.ListAuditEvents(ctx, app, q)
}

func (f *faultStore) RegistryEnabled(ctx context.Context, app string) (bool, error) {
	if err := f.check(); err != nil {
		return false, err
	}
	return f.Store.RegistryEnabled(ctx, app)
}

func (f *faultStore) SetRegistry(ctx context.Context, app string, on bool) error {
	if err := f.check(); err != nil {
		return err
	}
	return f.Store.SetRegistry(ctx, app, on)
}

func ptr[T any](v T) *T { return &v }

func wantError(t *testing.T, status int, body []byte, wantStatus int, wantCode string) gen.ErrorResponse {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d; body %s", status, wantStatus, body)
	}
	e := apitest.DecodeError(t, body)
	if e.StatusCode != wantStatus || e.Code != wantCode || e.Error != http.StatusText(wantStatus) || e.Message == "" {
		t.Fatalf("error body %+v, want status %d code %s", e, wantStatus, wantCode)
	}
	return e
}

// TestContract drives every operation of openapi.yaml and every status it documents
// through the generated client (or raw requests where the client cannot send the bad
// input), validating each response against the spec, then checks nothing was left out.
func TestContract(t *testing.T) { contract(t, apitest.OpenSQLite(t)) }

// TestContractPostgres runs the same suite on PostgreSQL: nothing about the API changes
// with the backend.
func TestContractPostgres(t *testing.T) { contract(t, apitest.OpenPostgres(t)) }

func contract(t *testing.T, st store.Store) {
	fs := &faultStore{Store: st}
	env := apitest.Start(t, withOAuth{fs, st.(store.OAuthStore)}, app.Config{Prober: probe.New(probe.Options{AllowPrivate: true, Timeout: 5 * time.Second})})
	c := env.Gen(t, env.KeyA)
	ctx := context.Background()

	// Create: 201 with every field, then 409 for the same slug.
	cr, err := c.McpServersControllerCreateMcpServerWithResponse(ctx, nil, gen.CreateMcpServerDto{
		Name: "Weather Server", Slug: "weather-server", Url: "http://localhost:3001",
		Description: ptr("Provides weather data for cities"), Icon: ptr("http://localhost:3001/icon.png"),
	})
	if err != nil || cr.StatusCode() != http.StatusCreated || cr.JSON201 == nil {
		t.Fatalf("create: %v %d %s", err, cr.StatusCode(), cr.Body)
	}
	created := *cr.JSON201
	if created.UnderscoreId != env.AppA+"_weather-server" || created.AppId != env.AppA || created.Slug != "weather-server" ||
		created.Name != "Weather Server" || created.Url != "http://localhost:3001" || created.Description != "Provides weather data for cities" ||
		created.Icon != "http://localhost:3001/icon.png" || created.CreatedAt == 0 || created.UpdatedAt != created.CreatedAt {
		t.Fatalf("created %+v", created)
	}
	// Optional fields absent → "" in the response; all nine fields always present.
	cr2, _ := c.McpServersControllerCreateMcpServerWithResponse(ctx, nil, gen.CreateMcpServerDto{Name: "Bare", Slug: "bare", Url: "https://bare.example.com"})
	if cr2.StatusCode() != http.StatusCreated || !strings.Contains(string(cr2.Body), `"description":""`) || !strings.Contains(string(cr2.Body), `"icon":""`) {
		t.Fatalf("bare create: %d %s", cr2.StatusCode(), cr2.Body)
	}
	dup, _ := c.McpServersControllerCreateMcpServerWithResponse(ctx, nil, gen.CreateMcpServerDto{Name: "Other", Slug: "weather-server", Url: "https://other.example.com"})
	wantError(t, dup.StatusCode(), dup.Body, http.StatusConflict, httpx.CodeSlugAlreadyExists)

	bad, _ := c.McpServersControllerCreateMcpServerWithResponse(ctx, nil, gen.CreateMcpServerDto{Name: "", Slug: "Bad Slug", Url: "nope"})
	e := wantError(t, bad.StatusCode(), bad.Body, http.StatusBadRequest, httpx.CodeValidation)
	if got := apitest.Fields(e); strings.Join(got, ",") != "name,slug,url" {
		t.Fatalf("create 400 names %v", got)
	}

	// Get: 200, 404, 400.
	gr, _ := c.McpServersControllerGetMcpServerBySlugWithResponse(ctx, "weather-server", nil)
	if gr.StatusCode() != http.StatusOK || *gr.JSON200 != created {
		t.Fatalf("get: %d %s", gr.StatusCode(), gr.Body)
	}
	nf, _ := c.McpServersControllerGetMcpServerBySlugWithResponse(ctx, "nope", nil)
	wantError(t, nf.StatusCode(), nf.Body, http.StatusNotFound, httpx.CodeMCPServerNotFound)
	bs, _ := c.McpServersControllerGetMcpServerBySlugWithResponse(ctx, "UPPER", nil)
	wantError(t, bs.StatusCode(), bs.Body, http.StatusBadRequest, httpx.CodeValidation)

	// List: 200 newest first, 400.
	lr, _ := c.McpServersControllerGetAllMcpServersWithResponse(ctx, nil)
	if lr.StatusCode() != http.StatusOK || len(lr.JSON200.Data) != 2 || lr.JSON200.Data[0].Slug != "bare" || lr.JSON200.Data[1] != created {
		t.Fatalf("list: %d %s", lr.StatusCode(), lr.Body)
	}
	m := lr.JSON200.Meta
	if m.Current.Limit != 10 || m.Current.Count != 2 || m.Previous == nil || m.Previous.Affix != "prepend" ||
		m.Previous.CreatedAt != lr.JSON200.Data[0].CreatedAt || m.Next == nil || m.Next.Affix != "append" || m.Next.CreatedAt != created.CreatedAt {
		t.Fatalf("list meta %+v", m)
	}
	bl, _ := c.McpServersControllerGetAllMcpServersWithResponse(ctx, &gen.McpServersControllerGetAllMcpServersParams{Limit: ptr(101)})
	wantError(t, bl.StatusCode(), bl.Body, http.StatusBadRequest, httpx.CodeValidation)

	// Update: 200 partial, {} unchanged, 400, 404, 415.
	ur, _ := c.McpServersControllerUpdateMcpServerWithResponse(ctx, "weather-server", nil, gen.UpdateMcpServerDto{Url: ptr("https://weather.example.com/mcp"), Icon: ptr("")})
	if ur.StatusCode() != http.StatusOK {
		t.Fatalf("update: %d %s", ur.StatusCode(), ur.Body)
	}
	up := *ur.JSON200
	if up.Url != "https://weather.example.com/mcp" || up.Icon != "" || up.Name != created.Name || up.Description != created.Description ||
		up.CreatedAt != created.CreatedAt || up.UpdatedAt <= created.UpdatedAt {
		t.Fatalf("updated %+v from %+v", up, created)
	}
	same, _ := c.McpServersControllerUpdateMcpServerWithResponse(ctx, "weather-server", nil, gen.UpdateMcpServerDto{})
	if same.StatusCode() != http.StatusOK || *same.JSON200 != up {
		t.Fatalf("empty update: %d %s", same.StatusCode(), same.Body)
	}
	ub, _ := c.McpServersControllerUpdateMcpServerWithResponse(ctx, "weather-server", nil, gen.UpdateMcpServerDto{Name: ptr("  ")})
	wantError(t, ub.StatusCode(), ub.Body, http.StatusBadRequest, httpx.CodeValidation)
	un, _ := c.McpServersControllerUpdateMcpServerWithResponse(ctx, "nope", nil, gen.UpdateMcpServerDto{Name: ptr("x")})
	wantError(t, un.StatusCode(), un.Body, http.StatusNotFound, httpx.CodeMCPServerNotFound)
	for _, op := range apitest.Ops("weather-server", "support") {
		if op.Body == "" {
			continue
		}
		st, body := env.Raw(t, op.Method, op.Path, env.KeyA, "text/plain", strings.NewReader(op.Body))
		wantError(t, st, body, http.StatusUnsupportedMediaType, httpx.CodeUnsupportedMediaType)
	}

	contractAgents(t, c, up)
	contractProbes(t, c)
	contractUpstreamOAuth(t, env)
	contractETags(t, c)
	contractIdempotency(t, c)
	contractAudit(t, c)
	contractAgentKeys(t, c, st.(store.OAuthStore), env.AppA)
	contractRegistry(t, env, c)
	contractToolNames(t, c)
	contractToolPolicy(t, c, st, env.AppA)

	// Delete: 200, 404, 400.
	dr, _ := c.McpServersControllerDeleteMcpServerWithResponse(ctx, "bare", nil)
	if dr.StatusCode() != http.StatusOK || !dr.JSON200.Success || dr.JSON200.Message != "MCP server deleted successfully" {
		t.Fatalf("delete: %d %s", dr.StatusCode(), dr.Body)
	}
	dn, _ := c.McpServersControllerDeleteMcpServerWithResponse(ctx, "bare", nil)
	wantError(t, dn.StatusCode(), dn.Body, http.StatusNotFound, httpx.CodeMCPServerNotFound)
	db, _ := c.McpServersControllerDeleteMcpServerWithResponse(ctx, "-bad-", nil)
	wantError(t, db.StatusCode(), db.Body, http.StatusBadRequest, httpx.CodeValidation)

	// Every operation: 401 without a key, 403 with an authOnly key, 413 for a body over
	// 1 MiB, and a 500 that leaks nothing when the store fails.
	huge := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
	for _, op := range apitest.Ops("weather-server", "support") {
		st, body := env.Do(t, op, "")
		wantError(t, st, body, http.StatusUnauthorized, httpx.CodeEmptyAPIKey)
		st, body = env.Do(t, op, env.AuthOnlyKey)
		wantError(t, st, body, http.StatusForbidden, httpx.CodeNoAccess)
		st, body = env.Raw(t, op.Method, op.Path, env.KeyA, "application/json", strings.NewReader(huge))
		wantError(t, st, body, http.StatusRequestEntityTooLarge, httpx.CodePayloadTooLarge)

		fs.fail.Store(&errInjected)
		st, body = env.Do(t, op, env.KeyA)
		fs.fail.Store(nil)
		e := wantError(t, st, body, http.StatusInternalServerError, httpx.CodeInternal)
		if strings.Contains(string(body), "secret internal detail") || e.Message != "Internal server error." {
			t.Fatalf("%s: a 500 leaks its cause: %s", op.ID, body)
		}
		fs.fail.Store(&errUnavailable)
		st, body = env.Do(t, op, env.KeyA)
		fs.fail.Store(nil)
		if e := wantError(t, st, body, http.StatusServiceUnavailable, httpx.CodeUnavailable); strings.Contains(e.Message, "injected") {
			t.Fatalf("%s: a 503 leaks its cause: %s", op.ID, body)
		}
	}

	// 429 for every operation, from a server that allows an app one request an hour: no
	// token comes back while the operations are sent, however slow the machine.
	rl := apitest.Start(t, apitest.OpenSQLite(t), app.Config{RateLimit: 1.0 / 3600, RateBurst: 1, IPRateLimit: 1000})
	rl.Doer, rl.Rec = env.Doer, env.Rec
	rl.Do(t, apitest.Ops("x", "x")[1], rl.KeyA) // spends the only token
	for _, op := range apitest.Ops("weather-server", "support") {
		st, body := rl.Do(t, op, rl.KeyA)
		wantError(t, st, body, http.StatusTooManyRequests, httpx.CodeRateLimited)
	}

	if missing := env.Rec.Missing(apitest.Spec(t)); len(missing) > 0 {
		t.Fatalf("operations and statuses of openapi.yaml never exercised:\n%s", strings.Join(missing, "\n"))
	}
}

// contractAgents covers the agent operations; server is an MCP server of the app.
func contractAgents(t *testing.T, c *gen.ClientWithResponses, server0 gen.McpServer) {
	t.Helper()
	ctx := context.Background()
	cr, _ := c.AgentBuilderControllerCreateAgentWithResponse(ctx, nil, gen.CreateAgentDto{
		Uid: ptr("support"), Name: "Support Agent", Instruction: ptr("You are a helpful assistant"),
		McpServers: &[]string{server0.Slug, server0.Slug}, MetaData: &gen.FreeObject{"team": "care"},
	})
	if cr.StatusCode() != http.StatusCreated {
		t.Fatalf("create agent: %d %s", cr.StatusCode(), cr.Body)
	}
	a := *cr.JSON201
	if a.Uid != "support" || a.AppId != server0.AppId || !a.IsActive || a.RagVersion != "v2" || a.LastMessageAt != nil ||
		a.FormattedInstruction != "You are a helpful assistant" || len(a.McpServers) != 1 || a.McpServers[0] != server0.Slug ||
		a.Tools == nil || len(a.Tools) != 0 || a.MetaData["team"] != "care" || a.ModelMetaData == nil || a.CreatedAt == 0 || a.UpdatedAt != a.CreatedAt {
		t.Fatalf("created agent %+v", a)
	}
	gen2, _ := c.AgentBuilderControllerCreateAgentWithResponse(ctx, nil, gen.CreateAgentDto{Name: "Generated"})
	if gen2.StatusCode() != http.StatusCreated || !strings.HasPrefix(gen2.JSON201.Uid, "agent-") {
		t.Fatalf("create agent without uid: %d %s", gen2.StatusCode(), gen2.Body)
	}
	dup, _ := c.AgentBuilderControllerCreateAgentWithResponse(ctx, nil, gen.CreateAgentDto{Uid: ptr("support"), Name: "Again"})
	wantError(t, dup.StatusCode(), dup.Body, http.StatusConflict, httpx.CodeAgentAlreadyExists)
	unk, _ := c.AgentBuilderControllerCreateAgentWithResponse(ctx, nil, gen.CreateAgentDto{Uid: ptr("other"), Name: "O", McpServers: &[]string{server0.Slug, "nope"}})
	e := wantError(t, unk.StatusCode(), unk.Body, http.StatusBadRequest, httpx.CodeMCPServerNotFound)
	if strings.Join(apitest.Fields(e), ",") != "mcpServers.1" {
		t.Fatalf("unknown mcpServers details %+v", e.Details)
	}
	bad, _ := c.AgentBuilderControllerCreateAgentWithResponse(ctx, nil, gen.CreateAgentDto{Name: " ", Uid: ptr("Bad")})
	wantError(t, bad.StatusCode(), bad.Body, http.StatusBadRequest, httpx.CodeValidation)

	lr, _ := c.AgentBuilderControllerGetAllAgentsWithResponse(ctx, &gen.AgentBuilderControllerGetAllAgentsParams{Limit: ptr(1)})
	if lr.StatusCode() != http.StatusOK || len(lr.JSON200.Data) != 1 || lr.JSON200.Data[0].Uid != gen2.JSON201.Uid || lr.JSON200.Meta.Next == nil {
		t.Fatalf("list agents: %d %s", lr.StatusCode(), lr.Body)
	}
	l2, _ := c.AgentBuilderControllerGetAllAgentsWithResponse(ctx, &gen.AgentBuilderControllerGetAllAgentsParams{Limit: ptr(1), Affix: ptr(gen.AgentBuilderControllerGetAllAgentsParamsAffixAppend), CreatedAt: &lr.JSON200.Meta.Next.CreatedAt})
	if l2.StatusCode() != http.StatusOK || len(l2.JSON200.Data) != 1 || l2.JSON200.Data[0].Uid != "support" {
		t.Fatalf("list agents page 2: %d %s", l2.StatusCode(), l2.Body)
	}
	lb, _ := c.AgentBuilderControllerGetAllAgentsWithResponse(ctx, &gen.AgentBuilderControllerGetAllAgentsParams{Limit: ptr(0)})
	wantError(t, lb.StatusCode(), lb.Body, http.StatusBadRequest, httpx.CodeValidation)

	gr, _ := c.AgentBuilderControllerGetAgentByUidWithResponse(ctx, "support", nil)
	if gr.StatusCode() != http.StatusOK || gr.JSON200.Uid != "support" {
		t.Fatalf("get agent: %d %s", gr.StatusCode(), gr.Body)
	}
	gn, _ := c.AgentBuilderControllerGetAgentByUidWithResponse(ctx, "nobody", nil)
	wantError(t, gn.StatusCode(), gn.Body, http.StatusNotFound, httpx.CodeAgentNotFound)
	gb, _ := c.AgentBuilderControllerGetAgentByUidWithResponse(ctx, "NOBODY", nil)
	wantError(t, gb.StatusCode(), gb.Body, http.StatusBadRequest, httpx.CodeValidation)

	ur, _ := c.AgentBuilderControllerUpdateAgentWithResponse(ctx, "support", nil, gen.UpdateAgentDto{IsActive: ptr(false), Tools: &[]string{"gmail"}})
	if ur.StatusCode() != http.StatusOK || ur.JSON200.IsActive || len(ur.JSON200.Tools) != 1 || ur.JSON200.Name != "Support Agent" || ur.JSON200.UpdatedAt <= a.UpdatedAt {
		t.Fatalf("update agent: %d %s", ur.StatusCode(), ur.Body)
	}
	un, _ := c.AgentBuilderControllerUpdateAgentWithResponse(ctx, "nobody", nil, gen.UpdateAgentDto{Name: ptr("x")})
	wantError(t, un.StatusCode(), un.Body, http.StatusNotFound, httpx.CodeAgentNotFound)
	ub, _ := c.AgentBuilderControllerUpdateAgentWithResponse(ctx, "support", nil, gen.UpdateAgentDto{McpServers: &[]string{"ghost"}})
	wantError(t, ub.StatusCode(), ub.Body, http.StatusBadRequest, httpx.CodeMCPServerNotFound)

	ar, _ := c.AgentBuilderControllerAddMcpServersToAgentWithResponse(ctx, "support", gen.ManageAgentMcpDto{Mcps: []string{server0.Slug}})
	if ar.StatusCode() != http.StatusOK || !ar.JSON200.Success || len(ar.JSON200.Data.McpServers) != 1 {
		t.Fatalf("add: %d %s", ar.StatusCode(), ar.Body)
	}
	an, _ := c.AgentBuilderControllerAddMcpServersToAgentWithResponse(ctx, "nobody", gen.ManageAgentMcpDto{Mcps: []string{server0.Slug}})
	wantError(t, an.StatusCode(), an.Body, http.StatusNotFound, httpx.CodeAgentNotFound)
	au, _ := c.AgentBuilderControllerAddMcpServersToAgentWithResponse(ctx, "support", gen.ManageAgentMcpDto{Mcps: []string{"ghost"}})
	wantError(t, au.StatusCode(), au.Body, http.StatusBadRequest, httpx.CodeMCPServerNotFound)

	er, _ := c.AgentBuilderControllerGetEnabledItemsWithResponse(ctx, "support", nil)
	if er.StatusCode() != http.StatusOK || len(er.JSON200.Data.McpServers) != 1 || er.JSON200.Data.McpServers[0].Url != server0.Url || er.JSON200.Data.Tools == nil {
		t.Fatalf("enabled items: %d %s", er.StatusCode(), er.Body)
	}
	en, _ := c.AgentBuilderControllerGetEnabledItemsWithResponse(ctx, "nobody", nil)
	wantError(t, en.StatusCode(), en.Body, http.StatusNotFound, httpx.CodeAgentNotFound)
	eb, _ := c.AgentBuilderControllerGetEnabledItemsWithResponse(ctx, "support", &gen.AgentBuilderControllerGetEnabledItemsParams{Key: ptr(strings.Repeat("k", 201))})
	wantError(t, eb.StatusCode(), eb.Body, http.StatusBadRequest, httpx.CodeValidation)

	rr, _ := c.AgentBuilderControllerRemoveMcpServersFromAgentWithResponse(ctx, "support", gen.ManageAgentMcpDto{Mcps: []string{server0.Slug, "not-attached"}})
	if rr.StatusCode() != http.StatusOK || len(rr.JSON200.Data.McpServers) != 0 {
		t.Fatalf("remove: %d %s", rr.StatusCode(), rr.Body)
	}
	rn, _ := c.AgentBuilderControllerRemoveMcpServersFromAgentWithResponse(ctx, "nobody", gen.ManageAgentMcpDto{Mcps: []string{server0.Slug}})
	wantError(t, rn.StatusCode(), rn.Body, http.StatusNotFound, httpx.CodeAgentNotFound)
	rb, _ := c.AgentBuilderControllerRemoveMcpServersFromAgentWithResponse(ctx, "support", gen.ManageAgentMcpDto{Mcps: []string{}})
	wantError(t, rb.StatusCode(), rb.Body, http.StatusBadRequest, httpx.CodeValidation)

	dr, _ := c.AgentBuilderControllerDeleteAgentWithResponse(ctx, gen2.JSON201.Uid, nil)
	if dr.StatusCode() != http.StatusOK || dr.JSON200.Message != "Agent deleted successfully" {
		t.Fatalf("delete agent: %d %s", dr.StatusCode(), dr.Body)
	}
	dn, _ := c.AgentBuilderControllerDeleteAgentWithResponse(ctx, gen2.JSON201.Uid, nil)
	wantError(t, dn.StatusCode(), dn.Body, http.StatusNotFound, httpx.CodeAgentNotFound)
	db, _ := c.AgentBuilderControllerDeleteAgentWithResponse(ctx, "_x", nil)
	wantError(t, db.StatusCode(), db.Body, http.StatusBadRequest, httpx.CodeValidation)
}

// contractProbes covers probing a real MCP server and reading its tools back.
func contractProbes(t *testing.T, c *gen.ClientWithResponses) {
	t.Helper()
	ctx := context.Background()
	cr, _ := c.McpServersControllerCreateMcpServerWithResponse(ctx, nil, gen.CreateMcpServerDto{Name: "Real", Slug: "real", Url: apitest.MCPServer(t, 3)})
	if cr.StatusCode() != http.StatusCreated {
		t.Fatalf("create: %s", cr.Body)
	}
	nt, _ := c.McpServersControllerGetMcpServerToolsWithResponse(ctx, "real")
	wantError(t, nt.StatusCode(), nt.Body, http.StatusNotFound, httpx.CodeNotProbed)
	nl, _ := c.McpServersControllerGetLastProbeWithResponse(ctx, "real")
	wantError(t, nl.StatusCode(), nl.Body, http.StatusNotFound, httpx.CodeNotProbed)

	pr, _ := c.McpServersControllerProbeMcpServerWithResponse(ctx, "real")
	if pr.StatusCode() != http.StatusOK || pr.JSON200.Status != "ok" || pr.JSON200.ToolCount != 3 || pr.JSON200.ServerInfo.Name != "fixture" ||
		pr.JSON200.ProtocolVersion == "" || pr.JSON200.Error != "" || pr.JSON200.CheckedAt == 0 {
		t.Fatalf("probe: %d %s", pr.StatusCode(), pr.Body)
	}
	last, _ := c.McpServersControllerGetLastProbeWithResponse(ctx, "real")
	if last.StatusCode() != http.StatusOK || last.JSON200.Status != "ok" || last.JSON200.CheckedAt != pr.JSON200.CheckedAt || last.JSON200.ToolCount != 3 || last.JSON200.ServerInfo != pr.JSON200.ServerInfo {
		t.Fatalf("last probe: %d %s", last.StatusCode(), last.Body)
	}
	tr, _ := c.McpServersControllerGetMcpServerToolsWithResponse(ctx, "real")
	if tr.StatusCode() != http.StatusOK || len(tr.JSON200.Tools) != 3 || tr.JSON200.Tools[1].Name != "tool_1" || tr.JSON200.CheckedAt != pr.JSON200.CheckedAt {
		t.Fatalf("tools: %d %s", tr.StatusCode(), tr.Body)
	}
	gr, _ := c.McpServersControllerGetMcpServerBySlugWithResponse(ctx, "real", nil)
	if h := gr.JSON200.Health; h == nil || h.Status != "ok" || h.ToolCount != 3 || gr.JSON200.UpdatedAt != cr.JSON201.UpdatedAt {
		t.Fatalf("health after the probe: %s", gr.Body)
	}
	lr, _ := c.McpServersControllerGetAllMcpServersWithResponse(ctx, &gen.McpServersControllerGetAllMcpServersParams{Health: ptr(gen.McpServersControllerGetAllMcpServersParamsHealthOk)})
	if lr.StatusCode() != http.StatusOK || len(lr.JSON200.Data) != 1 || lr.JSON200.Data[0].Slug != "real" {
		t.Fatalf("list health=ok: %s", lr.Body)
	}
	lb, _ := c.McpServersControllerGetAllMcpServersWithResponse(ctx, &gen.McpServersControllerGetAllMcpServersParams{Health: ptr(gen.McpServersControllerGetAllMcpServersParamsHealth("sick"))})
	wantError(t, lb.StatusCode(), lb.Body, http.StatusBadRequest, httpx.CodeValidation)

	pn, _ := c.McpServersControllerProbeMcpServerWithResponse(ctx, "nope")
	wantError(t, pn.StatusCode(), pn.Body, http.StatusNotFound, httpx.CodeMCPServerNotFound)
	pb, _ := c.McpServersControllerProbeMcpServerWithResponse(ctx, "BAD")
	wantError(t, pb.StatusCode(), pb.Body, http.StatusBadRequest, httpx.CodeValidation)
	tn, _ := c.McpServersControllerGetMcpServerToolsWithResponse(ctx, "nope")
	wantError(t, tn.StatusCode(), tn.Body, http.StatusNotFound, httpx.CodeMCPServerNotFound)
	tb, _ := c.McpServersControllerGetMcpServerToolsWithResponse(ctx, "BAD")
	wantError(t, tb.StatusCode(), tb.Body, http.StatusBadRequest, httpx.CodeValidation)
	ln, _ := c.McpServersControllerGetLastProbeWithResponse(ctx, "nope")
	wantError(t, ln.StatusCode(), ln.Body, http.StatusNotFound, httpx.CodeMCPServerNotFound)
	lb2, _ := c.McpServersControllerGetLastProbeWithResponse(ctx, "BAD")
	wantError(t, lb2.StatusCode(), lb2.Body, http.StatusBadRequest, httpx.CodeValidation)

	// A failed probe (unreachable, or blocked): its error in words is what GET …/probe gives back.
	if cr, _ := c.McpServersControllerCreateMcpServerWithResponse(ctx, nil, gen.CreateMcpServerDto{Name: "Gone", Slug: "gone", Url: "http://127.0.0.1:9/mcp"}); cr.StatusCode() != http.StatusCreated {
		t.Fatalf("create: %s", cr.Body)
	}
	gp, _ := c.McpServersControllerProbeMcpServerWithResponse(ctx, "gone")
	gl, _ := c.McpServersControllerGetLastProbeWithResponse(ctx, "gone")
	if gp.StatusCode() != http.StatusOK || gl.StatusCode() != http.StatusOK || gl.JSON200.Status == "ok" || gl.JSON200.Error == "" || gl.JSON200.Error != gp.JSON200.Error {
		t.Fatalf("last probe of an unreachable server: %s, after %s", gl.Body, gp.Body)
	}
	c.McpServersControllerDeleteMcpServerWithResponse(ctx, "gone", nil)
}

// contractRegistry covers reading and switching the app's registry view.
func contractRegistry(t *testing.T, env *apitest.Env, c *gen.ClientWithResponses) {
	t.Helper()
	ctx := context.Background()
	g, _ := c.RegistryControllerGetRegistryWithResponse(ctx)
	if g.StatusCode() != http.StatusOK || g.JSON200.Enabled || g.JSON200.Path != "/registry/"+env.AppA {
		t.Fatalf("registry: %d %s", g.StatusCode(), g.Body)
	}
	on, _ := c.RegistryControllerSetRegistryWithResponse(ctx, gen.RegistrySettingsInput{Enabled: true})
	if on.StatusCode() != http.StatusOK || !on.JSON200.Enabled {
		t.Fatalf("registry on: %d %s", on.StatusCode(), on.Body)
	}
	if ok, err := env.Store.RegistryEnabled(ctx, env.AppA); err != nil || !ok {
		t.Fatalf("stored: %v %v", ok, err)
	}
	resp, err := http.Get(env.Server.URL + "/registry/" + env.AppA + "/v0.1/servers")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the registry view after turning it on: %d", resp.StatusCode)
	}
	st, body := env.Raw(t, http.MethodPut, "/ai-agents/agent-builder/registry", env.KeyA, "application/json", strings.NewReader(`{"enabled":"yes"}`))
	wantError(t, st, body, http.StatusBadRequest, httpx.CodeValidation)
	off, _ := c.RegistryControllerSetRegistryWithResponse(ctx, gen.RegistrySettingsInput{Enabled: false})
	if off.StatusCode() != http.StatusOK || off.JSON200.Enabled {
		t.Fatalf("registry off: %d %s", off.StatusCode(), off.Body)
	}
}

// contractETags covers ETag, If-None-Match (304) and If-Match (412) on servers and agents.
func contractETags(t *testing.T, c *gen.ClientWithResponses) {
	t.Helper()
	ctx := context.Background()
	cr, _ := c.McpServersControllerCreateMcpServerWithResponse(ctx, nil, gen.CreateMcpServerDto{Name: "E", Slug: "etag-s", Url: "https://e.example.com"})
	tag := cr.HTTPResponse.Header.Get("ETag")
	if tag != fmt.Sprintf(`"%d.0"`, cr.JSON201.UpdatedAt) {
		t.Fatalf("create ETag %q", tag)
	}
	nm, _ := c.McpServersControllerGetMcpServerBySlugWithResponse(ctx, "etag-s", &gen.McpServersControllerGetMcpServerBySlugParams{IfNoneMatch: &tag})
	if nm.StatusCode() != http.StatusNotModified || len(nm.Body) != 0 || nm.HTTPResponse.Header.Get("ETag") != tag {
		t.Fatalf("If-None-Match current: %d %q", nm.StatusCode(), nm.Body)
	}
	if g, _ := c.McpServersControllerGetMcpServerBySlugWithResponse(ctx, "etag-s", &gen.McpServersControllerGetMcpServerBySlugParams{IfNoneMatch: ptr(`"1.0"`)}); g.StatusCode() != http.StatusOK || g.HTTPResponse.Header.Get("ETag") != tag {
		t.Fatalf("If-None-Match stale: %d", g.StatusCode())
	}
	stale := ptr(`"1.0"`)
	pf, _ := c.McpServersControllerUpdateMcpServerWithResponse(ctx, "etag-s", &gen.McpServersControllerUpdateMcpServerParams{IfMatch: stale}, gen.UpdateMcpServerDto{Name: ptr("changed")})
	wantError(t, pf.StatusCode(), pf.Body, http.StatusPreconditionFailed, httpx.CodePreconditionFailed)
	up, _ := c.McpServersControllerUpdateMcpServerWithResponse(ctx, "etag-s", &gen.McpServersControllerUpdateMcpServerParams{IfMatch: &tag}, gen.UpdateMcpServerDto{Name: ptr("changed")})
	if up.StatusCode() != http.StatusOK || up.JSON200.Name != "changed" || up.HTTPResponse.Header.Get("ETag") == tag {
		t.Fatalf("If-Match current: %d %s", up.StatusCode(), up.Body)
	}
	df, _ := c.McpServersControllerDeleteMcpServerWithResponse(ctx, "etag-s", &gen.McpServersControllerDeleteMcpServerParams{IfMatch: &tag})
	wantError(t, df.StatusCode(), df.Body, http.StatusPreconditionFailed, httpx.CodePreconditionFailed)
	newTag := up.HTTPResponse.Header.Get("ETag")
	if d, _ := c.McpServersControllerDeleteMcpServerWithResponse(ctx, "etag-s", &gen.McpServersControllerDeleteMcpServerParams{IfMatch: &newTag}); d.StatusCode() != http.StatusOK {
		t.Fatalf("delete If-Match current: %d %s", d.StatusCode(), d.Body)
	}

	ac, _ := c.AgentBuilderControllerCreateAgentWithResponse(ctx, nil, gen.CreateAgentDto{Uid: ptr("etag-a"), Name: "E"})
	atag := ac.HTTPResponse.Header.Get("ETag")
	if atag != fmt.Sprintf(`"%d"`, ac.JSON201.UpdatedAt) {
		t.Fatalf("agent ETag %q", atag)
	}
	if g, _ := c.AgentBuilderControllerGetAgentByUidWithResponse(ctx, "etag-a", &gen.AgentBuilderControllerGetAgentByUidParams{IfNoneMatch: ptr("W/" + atag)}); g.StatusCode() != http.StatusNotModified {
		t.Fatalf("agent If-None-Match (weak): %d", g.StatusCode())
	}
	if g, _ := c.AgentBuilderControllerGetAgentByUidWithResponse(ctx, "etag-a", &gen.AgentBuilderControllerGetAgentByUidParams{IfNoneMatch: ptr(`"0"`)}); g.StatusCode() != http.StatusOK {
		t.Fatalf("agent If-None-Match stale: %d", g.StatusCode())
	}
	apf, _ := c.AgentBuilderControllerUpdateAgentWithResponse(ctx, "etag-a", &gen.AgentBuilderControllerUpdateAgentParams{IfMatch: ptr("W/" + atag)}, gen.UpdateAgentDto{Name: ptr("x")})
	wantError(t, apf.StatusCode(), apf.Body, http.StatusPreconditionFailed, httpx.CodePreconditionFailed) // If-Match compares strongly
	aup, _ := c.AgentBuilderControllerUpdateAgentWithResponse(ctx, "etag-a", &gen.AgentBuilderControllerUpdateAgentParams{IfMatch: ptr(`"0", ` + atag)}, gen.UpdateAgentDto{Name: ptr("x")})
	if aup.StatusCode() != http.StatusOK {
		t.Fatalf("agent If-Match list: %d %s", aup.StatusCode(), aup.Body)
	}
	adf, _ := c.AgentBuilderControllerDeleteAgentWithResponse(ctx, "etag-a", &gen.AgentBuilderControllerDeleteAgentParams{IfMatch: &atag})
	wantError(t, adf.StatusCode(), adf.Body, http.StatusPreconditionFailed, httpx.CodePreconditionFailed)
	if d, _ := c.AgentBuilderControllerDeleteAgentWithResponse(ctx, "etag-a", &gen.AgentBuilderControllerDeleteAgentParams{IfMatch: ptr("*")}); d.StatusCode() != http.StatusOK {
		t.Fatalf("agent delete If-Match *: %d", d.StatusCode())
	}
}

// contractIdempotency covers a replayed create and a key reused with another body.
func contractIdempotency(t *testing.T, c *gen.ClientWithResponses) {
	t.Helper()
	ctx := context.Background()
	key := ptr("retry-1")
	first, _ := c.McpServersControllerCreateMcpServerWithResponse(ctx, &gen.McpServersControllerCreateMcpServerParams{IdempotencyKey: key},
		gen.CreateMcpServerDto{Name: "I", Slug: "idem", Url: "https://i.example.com"})
	again, _ := c.McpServersControllerCreateMcpServerWithResponse(ctx, &gen.McpServersControllerCreateMcpServerParams{IdempotencyKey: key},
		gen.CreateMcpServerDto{Name: "I", Slug: "idem", Url: "https://i.example.com"})
	if first.StatusCode() != http.StatusCreated || again.StatusCode() != http.StatusCreated || string(again.Body) != string(first.Body) ||
		again.HTTPResponse.Header.Get("Idempotency-Replayed") != "true" || first.HTTPResponse.Header.Get("Idempotency-Replayed") != "" ||
		again.HTTPResponse.Header.Get("ETag") != first.HTTPResponse.Header.Get("ETag") {
		t.Fatalf("replay: %d %s / %d %s", first.StatusCode(), first.Body, again.StatusCode(), again.Body)
	}
	other, _ := c.McpServersControllerCreateMcpServerWithResponse(ctx, &gen.McpServersControllerCreateMcpServerParams{IdempotencyKey: key},
		gen.CreateMcpServerDto{Name: "Other", Slug: "idem-2", Url: "https://i.example.com"})
	wantError(t, other.StatusCode(), other.Body, http.StatusUnprocessableEntity, httpx.CodeIdempotencyKeyReused)
	a1, _ := c.AgentBuilderControllerCreateAgentWithResponse(ctx, &gen.AgentBuilderControllerCreateAgentParams{IdempotencyKey: ptr("agent-1")}, gen.CreateAgentDto{Name: "no uid"})
	a2, _ := c.AgentBuilderControllerCreateAgentWithResponse(ctx, &gen.AgentBuilderControllerCreateAgentParams{IdempotencyKey: ptr("agent-1")}, gen.CreateAgentDto{Name: "no uid"})
	if a1.StatusCode() != http.StatusCreated || a2.JSON201 == nil || a2.JSON201.Uid != a1.JSON201.Uid {
		t.Fatalf("a retried agent create made a second agent: %s / %s", a1.Body, a2.Body)
	}
	a3, _ := c.AgentBuilderControllerCreateAgentWithResponse(ctx, &gen.AgentBuilderControllerCreateAgentParams{IdempotencyKey: ptr("agent-1")}, gen.CreateAgentDto{Name: "changed"})
	wantError(t, a3.StatusCode(), a3.Body, http.StatusUnprocessableEntity, httpx.CodeIdempotencyKeyReused)
	long, _ := c.McpServersControllerCreateMcpServerWithResponse(ctx, &gen.McpServersControllerCreateMcpServerParams{IdempotencyKey: ptr(strings.Repeat("k", 256))},
		gen.CreateMcpServerDto{Name: "L", Slug: "long-key", Url: "https://l.example.com"})
	wantError(t, long.StatusCode(), long.Body, http.StatusBadRequest, httpx.CodeValidation)
}

// contractAudit: the writes above left events, with this request's key and id.
func contractAudit(t *testing.T, c *gen.ClientWithResponses) {
	t.Helper()
	ctx := context.Background()
	r, _ := c.AuditControllerGetAuditEventsWithResponse(ctx, &gen.AuditControllerGetAuditEventsParams{Limit: ptr(5)})
	if r.StatusCode() != http.StatusOK || len(r.JSON200.Data) != 5 || r.JSON200.Meta.Next == nil || r.JSON200.Data[0].KeyId == "" || r.JSON200.Data[0].RequestId == "" {
		t.Fatalf("audit events: %d %s", r.StatusCode(), r.Body)
	}
	older, _ := c.AuditControllerGetAuditEventsWithResponse(ctx, &gen.AuditControllerGetAuditEventsParams{Limit: ptr(5), Before: &r.JSON200.Meta.Next.Before})
	if older.StatusCode() != http.StatusOK || len(older.JSON200.Data) == 0 || older.JSON200.Data[0].Id >= r.JSON200.Data[4].Id {
		t.Fatalf("older audit events: %s", older.Body)
	}
	act := gen.McpServerCreate
	f, _ := c.AuditControllerGetAuditEventsWithResponse(ctx, &gen.AuditControllerGetAuditEventsParams{Limit: ptr(100), Action: &act, Target: ptr("mcp_server:weather-server")})
	if f.StatusCode() != http.StatusOK || len(f.JSON200.Data) != 1 || f.JSON200.Data[0].Before != nil || f.JSON200.Data[0].After == nil {
		t.Fatalf("filtered audit events: %s", f.Body)
	}
	// The record has the wire shape (camelCase, as McpServer), not Go's field names.
	after, err := f.JSON200.Data[0].After.AsAuditMcpServer()
	if err != nil || after.Name != "Weather Server" || after.Slug != "weather-server" || after.UpdatedAt == 0 || after.UnderscoreId == "" {
		t.Fatalf("audit record %s: %+v %v", f.Body, after, err)
	}
	if strings.Contains(string(f.Body), `"Name"`) || strings.Contains(string(f.Body), `"URL"`) {
		t.Fatalf("audit event in Go's field names: %s", f.Body)
	}
	bad, _ := c.AuditControllerGetAuditEventsWithResponse(ctx, &gen.AuditControllerGetAuditEventsParams{Before: ptr(int64(0))})
	wantError(t, bad.StatusCode(), bad.Body, http.StatusBadRequest, httpx.CodeValidation)
}

// TestIdempotencyConcurrent: 20 concurrent creates with one key make one record and get 20
// identical responses.
func TestIdempotencyConcurrent(t *testing.T) {
	st := apitest.OpenSQLite(t)
	env := apitest.Start(t, st, app.Config{})
	c := env.Gen(t, env.KeyA)
	ctx := context.Background()
	var wg sync.WaitGroup
	res := make([]*gen.McpServersControllerCreateMcpServerResponse, 20)
	for i := range res {
		wg.Go(func() {
			res[i], _ = c.McpServersControllerCreateMcpServerWithResponse(ctx, &gen.McpServersControllerCreateMcpServerParams{IdempotencyKey: ptr("same-key")},
				gen.CreateMcpServerDto{Name: "Once", Slug: "once", Url: "https://once.example.com"})
		})
	}
	wg.Wait()
	replayed := 0
	for _, r := range res {
		if r.StatusCode() != http.StatusCreated || string(r.Body) != string(res[0].Body) {
			t.Fatalf("responses differ: %d %s vs %s", r.StatusCode(), r.Body, res[0].Body)
		}
		if r.HTTPResponse.Header.Get("Idempotency-Replayed") == "true" {
			replayed++
		}
	}
	if replayed != 19 {
		t.Fatalf("%d replays, want 19", replayed)
	}
	if all, _ := st.ListMCPServers(ctx, env.AppA, store.Page{Limit: 10}); len(all) != 1 {
		t.Fatalf("%d records", len(all))
	}
}

// TestIfMatchRace: two clients read the same ETag and PATCH at once: exactly one 200, one
// 412, and the stored record is the winner's.
func TestIfMatchRace(t *testing.T) {
	env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{})
	c := env.Gen(t, env.KeyA)
	ctx := context.Background()
	for round := range 10 {
		slug := fmt.Sprintf("race-%d", round)
		cr, _ := c.McpServersControllerCreateMcpServerWithResponse(ctx, nil, gen.CreateMcpServerDto{Name: "r", Slug: slug, Url: "https://r.example.com"})
		tag := cr.HTTPResponse.Header.Get("ETag")
		var wg sync.WaitGroup
		results := make([]*gen.McpServersControllerUpdateMcpServerResponse, 2)
		for i := range 2 {
			wg.Go(func() {
				results[i], _ = c.McpServersControllerUpdateMcpServerWithResponse(ctx, slug, &gen.McpServersControllerUpdateMcpServerParams{IfMatch: &tag},
					gen.UpdateMcpServerDto{Name: ptr(fmt.Sprintf("writer-%d", i))})
			})
		}
		wg.Wait()
		var winner string
		codes := map[int]int{}
		for i, r := range results {
			codes[r.StatusCode()]++
			if r.StatusCode() == http.StatusOK {
				winner = fmt.Sprintf("writer-%d", i)
			}
		}
		if codes[http.StatusOK] != 1 || codes[http.StatusPreconditionFailed] != 1 {
			t.Fatalf("round %d: statuses %v", round, codes)
		}
		if g, _ := c.McpServersControllerGetMcpServerBySlugWithResponse(ctx, slug, nil); g.JSON200 == nil || g.JSON200.Name != winner {
			t.Fatalf("round %d: stored %s, winner %s", round, g.Body, winner)
		}
	}
}

// TestNonAPIRoutes covers what lives outside /v3 and outside validation.
func TestNonAPIRoutes(t *testing.T) {
	env := apitest.Start(t, apitest.OpenSQLite(t), app.Config{})
	get := func(path string) (int, string, string) {
		resp, err := http.Get(env.Server.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	if st, _, body := get("/healthz"); st != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Fatalf("healthz %d %s", st, body)
	}
	if st, _, body := get("/readyz"); st != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Fatalf("readyz %d %s", st, body)
	}
	st, ct, body := get("/openapi.yaml")
	if st != http.StatusOK || ct != "application/yaml" || !strings.Contains(body, "operationId: McpServersController_createMcpServer") {
		t.Fatalf("openapi.yaml %d %s", st, ct)
	}
	for _, path := range []string{"/", "/nope", "/v3", "/v3/ai-agents/unknown"} {
		st, ct, body := get(path)
		if path == "/v3/ai-agents/unknown" || path == "/v3" {
			// Under /v3 the key is checked first: an anonymous caller learns nothing.
			if st != http.StatusUnauthorized {
				t.Fatalf("%s without a key: %d %s", path, st, body)
			}
			continue
		}
		if st != http.StatusNotFound || ct != "application/json" || !strings.Contains(body, `"code":"ERR_NOT_FOUND"`) {
			t.Fatalf("%s: %d %s %s", path, st, ct, body)
		}
	}
	st2, b2 := env.Raw(t, http.MethodGet, "/ai-agents/unknown", env.KeyA, "", nil)
	wantError(t, st2, b2, http.StatusNotFound, httpx.CodeNotFound)
	st2, b2 = env.Raw(t, http.MethodPut, "/ai-agents/agent-builder/mcp-servers/x", env.KeyA, "application/json", strings.NewReader("{}"))
	wantError(t, st2, b2, http.StatusMethodNotAllowed, httpx.CodeMethodNotAllowed)
}

// contractAgentKeys: mint (the secret once), list (never a secret), revoke; 400s and 404s; the same for OAuth grants.
func contractAgentKeys(t *testing.T, c *gen.ClientWithResponses, o store.OAuthStore, app string) {
	t.Helper()
	ctx := context.Background()
	if r, _ := c.AgentBuilderControllerCreateAgentWithResponse(ctx, nil, gen.CreateAgentDto{Name: "Keyed", Uid: ptr("keyed")}); r.StatusCode() != http.StatusCreated {
		t.Fatalf("create agent: %s", r.Body)
	}
	cr, _ := c.AgentKeysControllerCreateAgentKeyWithResponse(ctx, "keyed", gen.CreateAgentKeyDto{Name: ptr("runtime")})
	if cr.StatusCode() != http.StatusCreated || cr.JSON201.Key.AgentUid != "keyed" || !strings.HasPrefix(cr.JSON201.Secret, cr.JSON201.Key.Prefix) {
		t.Fatalf("create agent key: %d %s", cr.StatusCode(), cr.Body)
	}
	lr, _ := c.AgentKeysControllerListAgentKeysWithResponse(ctx, "keyed")
	if lr.StatusCode() != http.StatusOK || len(lr.JSON200.Data) != 1 || strings.Contains(string(lr.Body), cr.JSON201.Secret) {
		t.Fatalf("list agent keys: %s", lr.Body)
	}
	rr, _ := c.AgentKeysControllerRevokeAgentKeyWithResponse(ctx, "keyed", cr.JSON201.Key.Id)
	if rr.StatusCode() != http.StatusOK {
		t.Fatalf("revoke agent key: %s", rr.Body)
	}
	nf, _ := c.AgentKeysControllerCreateAgentKeyWithResponse(ctx, "nobody", gen.CreateAgentKeyDto{})
	wantError(t, nf.StatusCode(), nf.Body, http.StatusNotFound, httpx.CodeAgentNotFound)
	ln, _ := c.AgentKeysControllerListAgentKeysWithResponse(ctx, "nobody")
	wantError(t, ln.StatusCode(), ln.Body, http.StatusNotFound, httpx.CodeAgentNotFound)
	rn, _ := c.AgentKeysControllerRevokeAgentKeyWithResponse(ctx, "keyed", "key_00")
	wantError(t, rn.StatusCode(), rn.Body, http.StatusNotFound, httpx.CodeKeyNotFound)
	bad, _ := c.AgentKeysControllerCreateAgentKeyWithResponse(ctx, "keyed", gen.CreateAgentKeyDto{Name: ptr(strings.Repeat("n", 101))})
	wantError(t, bad.StatusCode(), bad.Body, http.StatusBadRequest, httpx.CodeValidation)
	lb, _ := c.AgentKeysControllerListAgentKeysWithResponse(ctx, "-bad-")
	wantError(t, lb.StatusCode(), lb.Body, http.StatusBadRequest, httpx.CodeValidation)
	rb, _ := c.AgentKeysControllerRevokeAgentKeyWithResponse(ctx, "keyed", "not-a-key")
	wantError(t, rb.StatusCode(), rb.Body, http.StatusBadRequest, httpx.CodeValidation)

	// OAuth grants: listed without a token, revoked once.
	grant := oauthGrant(t, o, app, "keyed")
	gl, _ := c.AgentOAuthControllerListGrantsWithResponse(ctx, "keyed")
	if gl.StatusCode() != http.StatusOK || len(gl.JSON200.Data) != 1 || gl.JSON200.Data[0].Id != grant || gl.JSON200.Data[0].ClientName != "Contract Client" {
		t.Fatalf("list grants: %d %s", gl.StatusCode(), gl.Body)
	}
	gr, _ := c.AgentOAuthControllerRevokeGrantWithResponse(ctx, "keyed", grant)
	if gr.StatusCode() != http.StatusOK {
		t.Fatalf("revoke grant: %s", gr.Body)
	}
	gr, _ = c.AgentOAuthControllerRevokeGrantWithResponse(ctx, "keyed", grant)
	wantError(t, gr.StatusCode(), gr.Body, http.StatusNotFound, httpx.CodeGrantNotFound)
	gn, _ := c.AgentOAuthControllerListGrantsWithResponse(ctx, "nobody")
	wantError(t, gn.StatusCode(), gn.Body, http.StatusNotFound, httpx.CodeAgentNotFound)
	gb, _ := c.AgentOAuthControllerListGrantsWithResponse(ctx, "-bad-")
	wantError(t, gb.StatusCode(), gb.Body, http.StatusBadRequest, httpx.CodeValidation)
	gb2, _ := c.AgentOAuthControllerRevokeGrantWithResponse(ctx, "keyed", "not.a.grant")
	wantError(t, gb2.StatusCode(), gb2.Body, http.StatusBadRequest, httpx.CodeValidation)
}

// withOAuth is a faultStore that keeps the backend's OAuth store.
type withOAuth struct {
	*faultStore
	store.OAuthStore
}

// oauthGrant makes a grant for agent uid of app through the store, as a consent would.
func oauthGrant(t *testing.T, o store.OAuthStore, app, uid string) string {
	t.Helper()
	ctx, now := context.Background(), store.NowMillis()
	id := "g_" + strings.ReplaceAll(uid, "-", "_")
	r := store.OAuthRequest{ID: id, ClientID: "amc_contract", ClientName: "Contract Client", AgentUID: uid, RedirectURI: "https://client.example/cb", CodeChallenge: "c", CreatedAt: now, ExpiresAt: now + 60000}
	code := store.HashKey("code-" + id)
	g := store.OAuthGrant{ID: id, AppID: app, AgentUID: uid, ClientID: r.ClientID, ClientName: r.ClientName, CreatedAt: now, LastUsedAt: now}
	if err := o.CreateOAuthRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := o.ApproveOAuthRequest(ctx, id, app, "key_x", code, now, now+60000); err != nil {
		t.Fatal(err)
	}
	if err := o.RedeemOAuthCode(ctx, code, g, nil, now); err != nil {
		t.Fatal(err)
	}
	return id
}
