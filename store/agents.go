package store

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/agentmcp/agentmcp/internal/jsonw"
	"github.com/agentmcp/agentmcp/internal/toolnames"
)

// Agent is an agent of an app, with the MCP servers attached to it.
type Agent struct {
	AppID       string
	UID         string
	Name        string
	Icon        string
	IsActive    bool
	Description string
	// Lists agentmcp stores and returns as given.
	Tools, Files, Websites, OtherKbIntegrations, APITools, FrontendActions []string
	// MCPServers are slugs of existing servers of the app, in the order first attached.
	MCPServers    []string
	RagVersion    string
	LastMessageAt *int64
	Instruction   string
	MetaData      map[string]any
	Model         string
	ModelMetaData map[string]any
	// Gateway is how the agent's MCP gateway serves its servers.
	Gateway   AgentGateway
	CreatedAt int64
	UpdatedAt int64
}

// AgentGateway is the agent's gateway settings, stored as one JSON object (agents.gateway)
// so that later settings (a tool policy per server) need no migration.
type AgentGateway struct {
	// ToolNames is toolnames.Prefixed (the default) or toolnames.Original.
	ToolNames string `json:"toolNames"`
}

// AppendJSON appends g as the wire's AgentGateway object.
func (g AgentGateway) AppendJSON(b []byte) []byte {
	o := jsonw.Obj{B: b}
	return o.Str("toolNames", g.ToolNames).End()
}

// ToolNameConflictError says that a write would give two of an agent's servers the same tool
// name under original tool names: Server's tool Name against ConflictsWith's, which was
// attached first. Nothing was written.
type ToolNameConflictError struct{ toolnames.Conflict }

func (e *ToolNameConflictError) Error() string {
	return fmt.Sprintf("tool name %q of MCP server %q is taken by MCP server %q", e.Name, e.Server, e.ConflictsWith)
}

// AgentPatch is a partial update of an agent: nil fields are left as they are. A non-nil
// MCPServers replaces the attached list.
type AgentPatch struct {
	Name, Icon, Description, RagVersion, Instruction, Model *string
	IsActive                                                *bool
	Tools, Files, Websites, OtherKbIntegrations             *[]string
	APITools, FrontendActions, MCPServers                   *[]string
	MetaData, ModelMetaData                                 *map[string]any
	// ToolNames sets Gateway.ToolNames.
	ToolNames *string
}

// Apply returns a with p applied (MCPServers aside) and whether anything changed.
func (p AgentPatch) Apply(a Agent) (Agent, bool) {
	before := a
	setS := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setL := func(dst *[]string, v *[]string) {
		if v != nil {
			*dst = nonNil(*v)
		}
	}
	setM := func(dst *map[string]any, v *map[string]any) {
		if v != nil {
			*dst = nonNilMap(*v)
		}
	}
	setS(&a.Name, p.Name)
	setS(&a.Icon, p.Icon)
	setS(&a.Description, p.Description)
	setS(&a.RagVersion, p.RagVersion)
	setS(&a.Instruction, p.Instruction)
	setS(&a.Model, p.Model)
	setS(&a.Gateway.ToolNames, p.ToolNames)
	if p.IsActive != nil {
		a.IsActive = *p.IsActive
	}
	setL(&a.Tools, p.Tools)
	setL(&a.Files, p.Files)
	setL(&a.Websites, p.Websites)
	setL(&a.OtherKbIntegrations, p.OtherKbIntegrations)
	setL(&a.APITools, p.APITools)
	setL(&a.FrontendActions, p.FrontendActions)
	setM(&a.MetaData, p.MetaData)
	setM(&a.ModelMetaData, p.ModelMetaData)
	return a, !reflect.DeepEqual(before, a)
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// NonNilMap returns m, or an empty map for nil.
func NonNilMap(m map[string]any) map[string]any { return nonNilMap(m) }

func nonNilMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// Normalize fills the defaults of a new agent: empty lists and objects, not nil.
func (a *Agent) Normalize() {
	for _, l := range []*[]string{&a.Tools, &a.Files, &a.Websites, &a.OtherKbIntegrations, &a.APITools, &a.FrontendActions, &a.MCPServers} {
		*l = nonNil(*l)
	}
	a.MetaData = nonNilMap(a.MetaData)
	a.ModelMetaData = nonNilMap(a.ModelMetaData)
	if a.Gateway.ToolNames == "" {
		a.Gateway.ToolNames = toolnames.Prefixed
	}
}

// Dedup returns slugs without repeats, first occurrence first.
func Dedup(slugs []string) []string {
	seen := make(map[string]bool, len(slugs))
	out := make([]string, 0, len(slugs))
	for _, s := range slugs {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// UnknownMCPServersError says which requested MCP server slugs do not exist in the app.
// Index is each slug's position in the request.
type UnknownMCPServersError struct {
	Slugs   []string
	Indexes []int
}

func (e *UnknownMCPServersError) Error() string {
	return fmt.Sprintf("MCP servers do not exist: %s", strings.Join(e.Slugs, ", "))
}

// Unknown returns the error for the slugs of want that are not in have, or nil.
func Unknown(want []string, have map[string]bool) error {
	var e UnknownMCPServersError
	for i, s := range want {
		if !have[s] {
			e.Slugs = append(e.Slugs, s)
			e.Indexes = append(e.Indexes, i)
		}
	}
	if len(e.Slugs) == 0 {
		return nil
	}
	return &e
}

// AgentStore is the agent half of the storage contract.
type AgentStore interface {
	// CreateAgent stores a; a.UID must be set. ErrConflict for a taken uid,
	// *UnknownMCPServersError for unknown a.MCPServers.
	CreateAgent(ctx context.Context, a Agent) (Agent, error)
	GetAgent(ctx context.Context, appID, uid string) (Agent, error)
	// UpdateAgent and DeleteAgent write only if pre holds.
	UpdateAgent(ctx context.Context, appID, uid string, p AgentPatch, pre Precondition) (Agent, error)
	DeleteAgent(ctx context.Context, appID, uid string, pre Precondition) error
	ListAgents(ctx context.Context, appID string, p Page) ([]Agent, error)
	// AttachMCPServers adds slugs not yet attached, in order, atomically: either every
	// slug exists (*UnknownMCPServersError otherwise) or nothing changes.
	AttachMCPServers(ctx context.Context, appID, uid string, slugs []string) (Agent, error)
	// DetachMCPServers removes the slugs that are attached and ignores the others.
	DetachMCPServers(ctx context.Context, appID, uid string, slugs []string) (Agent, error)
	// AgentMCPServers returns the servers attached to the agent, in attachment order.
	AgentMCPServers(ctx context.Context, appID, uid string) ([]MCPServer, error)
}
