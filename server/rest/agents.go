package rest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/agentmcp/agentmcp/gen"
	"github.com/agentmcp/agentmcp/server/httpx"
	"github.com/agentmcp/agentmcp/store"
)

func wireAgent(a store.Agent) gen.Agent {
	return gen.Agent{
		Uid:                  a.UID,
		AppId:                a.AppID,
		Name:                 a.Name,
		Icon:                 a.Icon,
		IsActive:             a.IsActive,
		Description:          a.Description,
		Tools:                a.Tools,
		Files:                a.Files,
		Websites:             a.Websites,
		OtherKbIntegrations:  a.OtherKbIntegrations,
		ApiTools:             a.APITools,
		McpServers:           a.MCPServers,
		FrontendActions:      a.FrontendActions,
		RagVersion:           gen.AgentRagVersion(a.RagVersion),
		LastMessageAt:        a.LastMessageAt,
		Instruction:          a.Instruction,
		FormattedInstruction: a.Instruction,
		MetaData:             a.MetaData,
		Model:                a.Model,
		ModelMetaData:        a.ModelMetaData,
		Gateway:              wireGateway(a.Gateway),
		CreatedAt:            a.CreatedAt,
		UpdatedAt:            a.UpdatedAt,
	}
}

// agentError maps storage errors of agent operations; field names the request field that
// held MCP server slugs (and slugs its value), for the details of ERR_MCP_SERVER_NOT_FOUND
// and ERR_TOOL_NAME_CONFLICT.
func agentError(err error, uid, field string, slugs ...string) error {
	var conflict *store.ToolNameConflictError
	if errors.As(err, &conflict) {
		return toolNameConflict(conflict, field, slugs)
	}
	var policy *store.GatewayPolicyError
	if errors.As(err, &policy) {
		return gatewayPolicyError(policy)
	}
	var unknown *store.UnknownMCPServersError
	if errors.As(err, &unknown) {
		details := make([]httpx.Detail, len(unknown.Slugs))
		parts := make([]string, len(unknown.Slugs))
		for i, s := range unknown.Slugs {
			details[i] = httpx.Detail{Field: fmt.Sprintf("%s.%d", field, unknown.Indexes[i]), Message: fmt.Sprintf("MCP server %q does not exist", s)}
			parts[i] = fmt.Sprintf("%q", s)
		}
		return &httpx.Error{Status: http.StatusBadRequest, Code: httpx.CodeMCPServerNotFound, Details: details,
			Message: "MCP servers do not exist in this app: " + strings.Join(parts, ", ")}
	}
	if errors.Is(err, store.ErrConflict) {
		return httpx.NewError(httpx.CodeAgentAlreadyExists, "An agent with uid %q already exists.", uid)
	}
	return StoreError(err, httpx.CodeAgentNotFound, fmt.Sprintf("Agent %q", uid))
}

// toolNameConflict is the 409 of a write refused for a tool name two servers would share.
// Its detail names the request's slug that brought the clash, or gateway.toolNames when the
// clash was between servers attached before (the switch to original names brought it).
func toolNameConflict(c *store.ToolNameConflictError, field string, slugs []string) error {
	at := "gateway.toolNames"
	for i, s := range slugs {
		if s == c.Server || s == c.ConflictsWith {
			at = fmt.Sprintf("%s.%d", field, i)
			break
		}
	}
	return &httpx.Error{Status: http.StatusConflict, Code: httpx.CodeToolNameConflict,
		Message: fmt.Sprintf("MCP servers %q and %q both offer a tool named %q; with gateway.toolNames \"original\" an agent's tool names must be unique.",
			c.ConflictsWith, c.Server, c.Name),
		Details: []httpx.Detail{{Field: at, Message: fmt.Sprintf("MCP server %q offers tool %q, as MCP server %q does", c.Server, c.Name, c.ConflictsWith)}}}
}

func newUID() string {
	var b [8]byte
	rand.Read(b[:])
	return "agent-" + hex.EncodeToString(b[:])
}

func list(p *[]string) []string {
	if p == nil {
		return nil
	}
	return *p
}

func object(p *gen.FreeObject) map[string]any {
	if p == nil {
		return nil
	}
	return *p
}

func (h *Handler) AgentBuilderControllerCreateAgent(ctx context.Context, req gen.AgentBuilderControllerCreateAgentRequestObject) (gen.AgentBuilderControllerCreateAgentResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	a := store.Agent{
		AppID: app, UID: deref(b.Uid), Name: b.Name, Icon: deref(b.Icon), IsActive: true,
		Description: deref(b.Description), RagVersion: "v2", Instruction: deref(b.Instruction), Model: deref(b.Model),
		Tools: list(b.Tools), Files: list(b.Files), Websites: list(b.Websites), OtherKbIntegrations: list(b.OtherKbIntegrations),
		APITools: list(b.ApiTools), FrontendActions: list(b.FrontendActions), MCPServers: list(b.McpServers),
		MetaData: object(b.MetaData), ModelMetaData: object(b.ModelMetaData),
	}
	if a.UID == "" {
		a.UID = newUID()
	}
	if b.IsActive != nil {
		a.IsActive = *b.IsActive
	}
	if b.RagVersion != nil {
		a.RagVersion = string(*b.RagVersion)
	}
	toolNames, pinning, servers := gatewayIn(b.Gateway)
	if toolNames != nil {
		a.Gateway.ToolNames = *toolNames
	}
	if pinning != nil {
		a.Gateway.Pinning = *pinning
	}
	if servers != nil {
		a.Gateway.Servers = *servers
	}
	out, err := h.svc.CreateAgent(ctx, a)
	if err != nil {
		return nil, agentError(err, a.UID, "mcpServers", a.MCPServers...)
	}
	resp := gen.AgentBuilderControllerCreateAgent201JSONResponse{Body: wireAgent(out)}
	resp.Headers.ETag = etag(store.AgentVersion(out))
	return resp, nil
}

func (h *Handler) AgentBuilderControllerGetAgentByUid(ctx context.Context, req gen.AgentBuilderControllerGetAgentByUidRequestObject) (gen.AgentBuilderControllerGetAgentByUidResponseObject, error) {
	_, a, err := h.agent(ctx, req.Uid)
	if err != nil {
		return nil, err
	}
	v := store.AgentVersion(a)
	if noneMatch(req.Params.IfNoneMatch, v) {
		out := gen.AgentBuilderControllerGetAgentByUid304Response{}
		out.Headers.ETag = etag(v)
		return out, nil
	}
	out := gen.AgentBuilderControllerGetAgentByUid200JSONResponse{Body: wireAgent(a)}
	out.Headers.ETag = etag(v)
	return out, nil
}

func (h *Handler) AgentBuilderControllerUpdateAgent(ctx context.Context, req gen.AgentBuilderControllerUpdateAgentRequestObject) (gen.AgentBuilderControllerUpdateAgentResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	p := store.AgentPatch{
		Name: b.Name, Icon: b.Icon, Description: b.Description, Instruction: b.Instruction, Model: b.Model, IsActive: b.IsActive,
		Tools: b.Tools, Files: b.Files, Websites: b.Websites, OtherKbIntegrations: b.OtherKbIntegrations,
		APITools: b.ApiTools, FrontendActions: b.FrontendActions, MCPServers: b.McpServers,
		MetaData: (*map[string]any)(b.MetaData), ModelMetaData: (*map[string]any)(b.ModelMetaData),
	}
	if b.RagVersion != nil {
		p.RagVersion = (*string)(b.RagVersion)
	}
	p.ToolNames, p.Pinning, p.GatewayServers = gatewayIn(b.Gateway)
	a, err := h.svc.UpdateAgent(ctx, app, req.Uid, p, ifMatch(req.Params.IfMatch))
	if err != nil {
		return nil, agentError(err, req.Uid, "mcpServers", list(b.McpServers)...)
	}
	out := gen.AgentBuilderControllerUpdateAgent200JSONResponse{Body: wireAgent(a)}
	out.Headers.ETag = etag(store.AgentVersion(a))
	return out, nil
}

func (h *Handler) AgentBuilderControllerDeleteAgent(ctx context.Context, req gen.AgentBuilderControllerDeleteAgentRequestObject) (gen.AgentBuilderControllerDeleteAgentResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.svc.DeleteAgent(ctx, app, req.Uid, ifMatch(req.Params.IfMatch)); err != nil {
		return nil, agentError(err, req.Uid, "")
	}
	return gen.AgentBuilderControllerDeleteAgent200JSONResponse{Success: true, Message: "Agent deleted successfully"}, nil
}

func (h *Handler) AgentBuilderControllerGetAllAgents(ctx context.Context, req gen.AgentBuilderControllerGetAllAgentsRequestObject) (gen.AgentBuilderControllerGetAllAgentsResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	p, err := page(req.Params.Limit, (*string)(req.Params.Affix), req.Params.CreatedAt)
	if err != nil {
		return nil, err
	}
	items, err := h.st.ListAgents(ctx, app, p)
	if err != nil {
		return nil, StoreError(err, httpx.CodeInternal, "")
	}
	var out gen.AgentBuilderControllerGetAllAgents200JSONResponse
	out.Data, out.Meta = listPage(items, p.Limit, func(a store.Agent) int64 { return a.CreatedAt }, wireAgent)
	return out, nil
}

func (h *Handler) AgentBuilderControllerAddMcpServersToAgent(ctx context.Context, req gen.AgentBuilderControllerAddMcpServersToAgentRequestObject) (gen.AgentBuilderControllerAddMcpServersToAgentResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	a, err := h.svc.AttachServers(ctx, app, req.Uid, req.Body.Mcps)
	if err != nil {
		return nil, agentError(err, req.Uid, "mcps", req.Body.Mcps...)
	}
	return agentReply(a), nil
}

func (h *Handler) AgentBuilderControllerRemoveMcpServersFromAgent(ctx context.Context, req gen.AgentBuilderControllerRemoveMcpServersFromAgentRequestObject) (gen.AgentBuilderControllerRemoveMcpServersFromAgentResponseObject, error) {
	app, err := appID(ctx)
	if err != nil {
		return nil, err
	}
	a, err := h.svc.DetachServers(ctx, app, req.Uid, req.Body.Mcps)
	if err != nil {
		return nil, agentError(err, req.Uid, "mcps")
	}
	return agentReply(a), nil
}

func (h *Handler) AgentBuilderControllerGetEnabledItems(ctx context.Context, req gen.AgentBuilderControllerGetEnabledItemsRequestObject) (gen.AgentBuilderControllerGetEnabledItemsResponseObject, error) {
	app, agent, err := h.agent(ctx, req.Uid)
	if err != nil {
		return nil, err
	}
	servers, err := h.st.AgentMCPServers(ctx, app, req.Uid)
	if err != nil {
		return nil, agentError(err, req.Uid, "")
	}
	var out gen.AgentBuilderControllerGetEnabledItems200JSONResponse
	out.Data.Tools, out.Data.FrontendActions, out.Data.ApiTools = []map[string]any{}, []map[string]any{}, []map[string]any{}
	out.Data.McpServers = []gen.EnabledMcpServer{}
	if p := req.Params.McpServers; p != nil && !*p {
		return out, nil
	}
	tools, withheld, err := h.enabledTools(ctx, agent, servers)
	if err != nil {
		return nil, err
	}
	key := strings.ToLower(deref(req.Params.Key))
	for _, m := range servers {
		if key != "" && !strings.Contains(strings.ToLower(m.Name), key) && !strings.Contains(strings.ToLower(m.Description), key) {
			continue
		}
		out.Data.McpServers = append(out.Data.McpServers, gen.EnabledMcpServer{Slug: m.Slug, Name: m.Name, Description: m.Description,
			Icon: m.Icon, Url: m.URL, Health: wireHealth(m.Health), Tools: tools[m.Slug], WithheldTools: withheld[m.Slug]})
	}
	return out, nil
}
