package store

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
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
// so that later settings need no migration.
type AgentGateway struct {
	// Pinning is what the gateway does with a tool (prompt, resource) whose definition is
	// not the one pinned for the agent: PinningOff, PinningWarn or PinningEnforce.
	Pinning string `json:"pinning"`
	// Servers is the tool policy per attached server, by slug (absent: every tool, as named).
	Servers map[string]ServerPolicy `json:"servers,omitempty"`
	// ToolNames is toolnames.Prefixed (the default) or toolnames.Original.
	ToolNames string `json:"toolNames"`
}

// ServerPolicy limits and renames the tools of one of an agent's servers.
type ServerPolicy struct {
	// Allow names the only tools served (nil: every tool; empty: none).
	Allow []string `json:"allow,omitzero"`
	// Rename serves a tool (its server's name) under another name.
	Rename map[string]string `json:"rename,omitempty"`
}

// The agent's gateway setting pinning.
const (
	PinningOff     = "off"     // serve definitions as they come
	PinningWarn    = "warn"    // serve, and record a changed or new definition
	PinningEnforce = "enforce" // withhold a changed or new definition until approved (the default)
)

// AppendJSON appends g as the wire's AgentGateway object.
func (g AgentGateway) AppendJSON(b []byte) []byte {
	o := jsonw.Obj{B: b} // the fields in the order of gen.AgentGateway's (encoding/json's)
	o.Str("pinning", g.Pinning)
	if len(g.Servers) > 0 {
		o.Key("servers")
		s := jsonw.Obj{B: o.B}
		for _, slug := range slices.Sorted(maps.Keys(g.Servers)) {
			p := g.Servers[slug]
			s.Key(slug)
			po := jsonw.Obj{B: s.B}
			if p.Allow != nil {
				po.Strs("allow", p.Allow)
			}
			if len(p.Rename) > 0 {
				po.Key("rename")
				r := jsonw.Obj{B: po.B}
				for _, k := range slices.Sorted(maps.Keys(p.Rename)) {
					r.Str(k, p.Rename[k])
				}
				po.B = r.End()
			}
			s.B = po.End()
		}
		o.B = s.End()
	}
	return o.Str("toolNames", g.ToolNames).End()
}

// GatewayPolicyError says that an agent's gateway policy is refused: Field names the
// request field (gateway.servers.{slug}.…); Conflict is a name taken twice (409), else
// the value is invalid (400). Nothing was written.
type GatewayPolicyError struct {
	Field, Message string
	Conflict       bool
}

func (e *GatewayPolicyError) Error() string { return e.Field + ": " + e.Message }

// validToolName is what a renamed tool may be called (what OpenAI-style clients accept).
var validToolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// CheckGateway refuses (*GatewayPolicyError) a gateway setting that names a server not in
// attached, renames a tool to an invalid name or to a name another rename of the agent
// gives, or is an unknown pinning mode.
func CheckGateway(g AgentGateway, attached []string) error {
	switch g.Pinning {
	case "", PinningOff, PinningWarn, PinningEnforce:
	default:
		return &GatewayPolicyError{Field: "gateway.pinning", Message: fmt.Sprintf("unknown pinning %q", g.Pinning)}
	}
	taken := map[string]string{} // new name → the field that gave it
	for _, slug := range slices.Sorted(maps.Keys(g.Servers)) {
		p := g.Servers[slug]
		field := "gateway.servers." + slug
		if !slices.Contains(attached, slug) {
			return &GatewayPolicyError{Field: field, Message: fmt.Sprintf("MCP server %q is not attached to the agent", slug)}
		}
		for i, n := range p.Allow {
			if n == "" || len(n) > 256 {
				return &GatewayPolicyError{Field: fmt.Sprintf("%s.allow.%d", field, i), Message: "a tool name is 1 to 256 characters"}
			}
		}
		for _, tool := range slices.Sorted(maps.Keys(p.Rename)) {
			to, at := p.Rename[tool], field+".rename."+tool
			if tool == "" || len(tool) > 256 {
				return &GatewayPolicyError{Field: at, Message: "a tool name is 1 to 256 characters"}
			}
			if !validToolName.MatchString(to) {
				return &GatewayPolicyError{Field: at, Message: fmt.Sprintf("%q is not a tool name: it must match ^[a-zA-Z0-9_-]{1,64}$", to)}
			}
			if other, ok := taken[to]; ok {
				return &GatewayPolicyError{Field: at, Conflict: true, Message: fmt.Sprintf("%q is already the new name of %s", to, other)}
			}
			taken[to] = at
		}
	}
	return nil
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
	// ToolNames sets Gateway.ToolNames, Pinning Gateway.Pinning, GatewayServers (the
	// whole map) Gateway.Servers.
	ToolNames, Pinning *string
	GatewayServers     *map[string]ServerPolicy
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
	setS(&a.Gateway.Pinning, p.Pinning)
	if p.GatewayServers != nil {
		a.Gateway.Servers = *p.GatewayServers
		if len(a.Gateway.Servers) == 0 {
			a.Gateway.Servers = nil
		}
	}
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
	if a.Gateway.Pinning == "" { // agents from before pinning were given theirs by 0016
		a.Gateway.Pinning = PinningEnforce
	}
	// A detached server's policy is not the agent's (it stays in the row until the next
	// write of the gateway settings, and applies again if the server is attached again).
	var kept map[string]ServerPolicy
	for slug, p := range a.Gateway.Servers {
		if slices.Contains(a.MCPServers, slug) {
			if kept == nil {
				kept = make(map[string]ServerPolicy, len(a.Gateway.Servers))
			}
			kept[slug] = p
		}
	}
	a.Gateway.Servers = kept
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
