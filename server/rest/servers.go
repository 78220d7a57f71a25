package rest

import (
	"context"
	"errors"
	"fmt"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/internal/service"
	"github.com/agentmcp/agentmcp/keyring"
	"github.com/agentmcp/agentmcp/probe"
	"github.com/agentmcp/agentmcp/server/auth"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
)

// Handler implements the strict server interface generated from openapi.yaml. Requests
// reach it authenticated (auth.Principal on the context) and validated against the spec.
type Handler struct {
	st     Store
	svc    *service.Service // every write
	prober Prober
	creds  *keyring.Service
	slots  *probe.Slots
	grants GrantStore    // nil: no OAuth grants
	oauth  UpstreamOAuth // nil: no OAuth connections to MCP servers
}

var _ gen.StrictServerInterface = (*Handler)(nil)

// Store is what the handlers read: MCP servers, agents, probe results, registry settings
// and the audit trail. They write through a service.Service, where each write's side
// effects are (TestHandlersWriteThroughTheService).
type Store interface {
	GetMCPServer(ctx context.Context, appID, slug string) (store.MCPServer, error)
	ListMCPServers(ctx context.Context, appID string, p store.Page) ([]store.MCPServer, error)
	GetProbe(ctx context.Context, appID, slug string) (store.ProbeRecord, error)
	GetAgent(ctx context.Context, appID, uid string) (store.Agent, error)
	ListAgents(ctx context.Context, appID string, p store.Page) ([]store.Agent, error)
	AgentMCPServers(ctx context.Context, appID, uid string) ([]store.MCPServer, error)
	RegistryEnabled(ctx context.Context, appID string) (bool, error)
	ListAuditEvents(ctx context.Context, appID string, q store.AuditQuery) ([]store.AuditEvent, error)
	ListToolPins(ctx context.Context, appID, uid string) ([]store.ToolPin, error)
}

// Prober checks a URL; *probe.Prober is the real one.
type Prober interface {
	Probe(ctx context.Context, url string, auth probe.Auth) probe.Result
}

// Options configure New.
type Options struct {
	Prober      Prober           // required
	Credentials *keyring.Service // opens MCP servers' credentials for POST …/probe
	Slots       *probe.Slots     // bounds POST …/probe with the background probes (default: probe.NewSlots(4, 2))
	Grants      GrantStore       // the agents' OAuth grants (nil: none)
	OAuth       UpstreamOAuth    // OAuth connections to MCP servers (nil: none)
}

// New returns the REST handlers reading st and writing through svc.
func New(st Store, svc *service.Service, o Options) *Handler {
	if o.Slots == nil {
		o.Slots = probe.NewSlots(4, 2)
	}
	return &Handler{st: st, svc: svc, prober: o.Prober, creds: o.Credentials, slots: o.Slots, grants: o.Grants, oauth: o.OAuth}
}

const defaultLimit = 10

func appID(ctx context.Context) (string, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return "", errors.New("no principal on an authenticated route")
	}
	return p.AppID, nil
}

func wireServer(m store.MCPServer) gen.McpServer {
	return gen.McpServer{
		UnderscoreId: m.AppID + "_" + m.Slug,
		AppId:        m.AppID,
		Slug:         m.Slug,
		Name:         m.Name,
		Description:  m.Description,
		Url:          m.URL,
		Icon:         m.Icon,
		CreatedAt:    m.CreatedAt,
		UpdatedAt:    m.UpdatedAt,
		Health:       wireHealth(m.Health),
		Auth:         wireAuth(m.Auth),
	}
}

func wireAuth(a store.AuthInfo) *gen.McpServerAuth {
	if !a.Configured() {
		return nil
	}
	return &gen.McpServerAuth{Type: gen.McpServerAuthType(a.Type), Configured: true, HeaderNames: a.Names()}
}

// credentials are the credentials of a request; nil in, nil out.
func credentials(in *gen.McpServerAuthInput) *keyring.Credentials {
	if in == nil {
		return nil
	}
	c := &keyring.Credentials{Type: string(in.Type), Token: deref(in.Token), Headers: in.Headers}
	if in.Type == gen.McpServerAuthInputTypeOauth {
		c.OAuth = &keyring.OAuth{ClientID: deref(in.ClientId), ClientSecret: deref(in.ClientSecret), PrivateKeyPEM: deref(in.PrivateKeyPem), Scopes: in.Scopes}
		if in.Grant != nil {
			c.OAuth.Grant = string(*in.Grant)
		}
		if in.SigningAlgorithm != nil {
			c.OAuth.SigningAlgorithm = string(*in.SigningAlgorithm)
		}
	}
	return c
}

// credentialsError answers the credentials of a write that could not be sealed (ok false:
// err is about something else).
func credentialsError(err error) (error, bool) {
	var invalid *service.InvalidCredentialsError
	if errors.As(err, &invalid) {
		details := make([]httpx.Detail, len(invalid.Problems))
		for i, p := range invalid.Problems {
			details[i] = httpx.Detail{Field: p.Field, Message: p.Message}
		}
		return httpx.ValidationError(details), true
	}
	if errors.Is(err, keyring.ErrNoKeeper) {
		return httpx.ValidationError([]httpx.Detail{{Field: "auth", Message: "this agentmcp has no secrets keeper to seal credentials with (start it with --secrets-keeper)"}}), true
	}
	return err, false
}

func serverNotFound(err error, slug string) error {
	return StoreError(err, httpx.CodeMCPServerNotFound, fmt.Sprintf("MCP server %q", slug))
}

// server returns the caller's app and its server slug (ERR_MCP_SERVER_NOT_FOUND without).
func (h *Handler) server(ctx context.Context, slug string) (string, store.MCPServer, error) {
	app, err := appID(ctx)
	if err != nil {
		return "", store.MCPServer{}, err
	}
	m, err := h.st.GetMCPServer(ctx, app, slug)
	if err != nil {
		return "", store.MCPServer{}, serverNotFound(err, slug)
	}
	return app, m, nil
}

// agent returns the caller's app and its agent uid (ERR_AGENT_NOT_FOUND without).
func (h *Handler) agent(ctx context.Context, uid string) (string, store.Agent, error) {
	app, err := appID(ctx)
	if err != nil {
		return "", store.Agent{}, err
	}
	a, err := h.st.GetAgent(ctx, app, uid)
	if err != nil {
		return "", store.Agent{}, agentError(err, uid, "")
	}
	return app, a, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (h *Handler) McpServersControllerCreateMcpServer(ctx context.Context, req gen.McpServersControllerCreateMcpServerRequestObject) (gen.McpServersControllerCreateMcpServerResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	m, err := h.svc.CreateServer(ctx, app, service.NewServer{
		Slug: b.Slug, Name: b.Name, URL: b.Url, Description: deref(b.Description), Icon: deref(b.Icon), Auth: credentials(b.Auth),
	})
	if e, ok := credentialsError(err); ok {
		return nil, e
	}
	var limit *service.LimitError
	if errors.Is(err, store.ErrConflict) {
		return nil, httpx.NewError(httpx.CodeSlugAlreadyExists, "An MCP server with slug %q already exists.", b.Slug)
	}
	if errors.As(err, &limit) {
		return nil, httpx.NewError(httpx.CodeLimitReached, "This app already has %d MCP servers, the most it may have.", limit.Limit)
	}
	if err != nil {
		return nil, StoreError(err, httpx.CodeInternal, "")
	}
	out := gen.McpServersControllerCreateMcpServer201JSONResponse{Body: wireServer(m)}
	if err := h.wireOAuth(ctx, m, &out.Body); err != nil {
		return nil, err
	}
	out.Headers.ETag = ptr(serverTag(m))
	return out, nil
}

func (h *Handler) McpServersControllerGetMcpServerBySlug(ctx context.Context, req gen.McpServersControllerGetMcpServerBySlugRequestObject) (gen.McpServersControllerGetMcpServerBySlugResponseObject, error) {
	_, m, err := h.server(ctx, req.Slug)
	if err != nil {
		return nil, err
	}
	tag := serverTag(m)
	if m.Auth.Type == keyring.AuthOAuth {
		// Its connection changes without the server's version: never 304.
		out := gen.McpServersControllerGetMcpServerBySlug200JSONResponse{Body: wireServer(m)}
		out.Headers.ETag = ptr(tag)
		return out, h.wireOAuth(ctx, m, &out.Body)
	}
	if noneMatch(req.Params.IfNoneMatch, tag[1:len(tag)-1]) {
		out := gen.McpServersControllerGetMcpServerBySlug304Response{}
		out.Headers.ETag = ptr(tag)
		return out, nil
	}
	return pooledServer(m, tag), nil
}

func (h *Handler) McpServersControllerUpdateMcpServer(ctx context.Context, req gen.McpServersControllerUpdateMcpServerRequestObject) (gen.McpServersControllerUpdateMcpServerResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	m, err := h.svc.UpdateServer(ctx, app, req.Slug, service.ServerPatch{
		Name: b.Name, Description: b.Description, URL: b.Url, Icon: b.Icon, Auth: credentials(b.Auth),
	}, ifMatch(req.Params.IfMatch))
	if e, ok := credentialsError(err); ok {
		return nil, e
	}
	if err != nil {
		return nil, serverNotFound(err, req.Slug)
	}
	out := gen.McpServersControllerUpdateMcpServer200JSONResponse{Body: wireServer(m)}
	if err := h.wireOAuth(ctx, m, &out.Body); err != nil {
		return nil, err
	}
	out.Headers.ETag = ptr(serverTag(m))
	return out, nil
}

func (h *Handler) McpServersControllerDeleteMcpServer(ctx context.Context, req gen.McpServersControllerDeleteMcpServerRequestObject) (gen.McpServersControllerDeleteMcpServerResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.svc.DeleteServer(ctx, app, req.Slug, ifMatch(req.Params.IfMatch)); err != nil {
		return nil, serverNotFound(err, req.Slug)
	}
	return gen.McpServersControllerDeleteMcpServer200JSONResponse{Success: true, Message: "MCP server deleted successfully"}, nil
}

// page checks the keyset parameters that the schema alone cannot (affix and createdAt go
// together) and turns them into a store.Page.
func page(limit *int, affix *string, createdAt *int64) (store.Page, error) {
	p := store.Page{Limit: defaultLimit}
	if limit != nil {
		p.Limit = *limit
	}
	switch {
	case affix != nil && createdAt == nil:
		return p, httpx.ValidationError([]httpx.Detail{{Field: "query.createdAt", Message: "is required with affix"}})
	case affix == nil && createdAt != nil:
		return p, httpx.ValidationError([]httpx.Detail{{Field: "query.affix", Message: "is required with createdAt"}})
	case affix != nil:
		p.Affix, p.CreatedAt = store.Affix(*affix), *createdAt
	}
	return p, nil
}

// listPage turns a keyset page of records into wire items and the list's meta.
func listPage[S, W any](items []S, limit int, createdAt func(S) int64, wire func(S) W) ([]W, gen.PageMeta) {
	out := make([]W, len(items))
	for i, it := range items {
		out[i] = wire(it)
	}
	return out, pageMeta(limit, items, createdAt)
}

// pageMeta is a list's meta: cursors at the first and last items, none on an empty page.
func pageMeta[S any](limit int, items []S, createdAt func(S) int64) gen.PageMeta {
	var m gen.PageMeta
	m.Current.Limit, m.Current.Count = limit, len(items)
	if len(items) > 0 {
		m.Previous = &gen.PageCursor{Affix: gen.PageCursorAffix(store.AffixPrepend), CreatedAt: createdAt(items[0])}
		m.Next = &gen.PageCursor{Affix: gen.PageCursorAffix(store.AffixAppend), CreatedAt: createdAt(items[len(items)-1])}
	}
	return m
}

func (h *Handler) McpServersControllerGetAllMcpServers(ctx context.Context, req gen.McpServersControllerGetAllMcpServersRequestObject) (gen.McpServersControllerGetAllMcpServersResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	p, err := page(req.Params.Limit, (*string)(req.Params.Affix), req.Params.CreatedAt)
	if err != nil {
		return nil, err
	}
	if req.Params.Health != nil {
		p.Health = string(*req.Params.Health)
	}
	items, err := h.st.ListMCPServers(ctx, app, p)
	if err != nil {
		return nil, StoreError(err, httpx.CodeInternal, "")
	}
	meta := pageMeta(p.Limit, items, func(m store.MCPServer) int64 { return m.CreatedAt })
	return rawJSON{body: append(appendServerList(make([]byte, 0, 256+400*len(items)), items, meta), '\n')}, nil
}
