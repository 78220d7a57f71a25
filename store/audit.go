package store

import (
	"context"
	"encoding/json"
	"reflect"

	"github.com/agentmcp/agentmcp/internal/jsonw"
)

// Actor is who makes a write, for the audit trail.
type Actor struct{ KeyID, RequestID string }

// ActorKey is the context key of the Actor: its value an Actor or an *Actor (a context
// that holds the actor in a field of its own answers the pointer, and allocates nothing).
type ActorKey struct{}

// WithActor names the key and request behind the writes made with ctx.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, ActorKey{}, a)
}

// ActorFrom returns the actor of ctx (zero for writes made by commands, not requests).
func ActorFrom(ctx context.Context) Actor {
	switch a := ctx.Value(ActorKey{}).(type) {
	case Actor:
		return a
	case *Actor:
		return *a
	}
	return Actor{}
}

// Audit actions.
const (
	AuditServerCreate = "mcp_server.create"
	AuditServerUpdate = "mcp_server.update"
	AuditServerDelete = "mcp_server.delete"
	AuditAgentCreate  = "agent.create"
	AuditAgentUpdate  = "agent.update"
	AuditAgentDelete  = "agent.delete"
	AuditAgentAttach  = "agent.mcp_add"
	AuditAgentDetach  = "agent.mcp_remove"
	AuditKeyCreate    = "api_key.create"
	AuditKeyRevoke    = "api_key.revoke"
)

// AuditEvent is one recorded write. Before and After are JSON (nil: none).
type AuditEvent struct {
	ID        int64
	AppID     string
	KeyID     string
	Action    string
	Target    string
	At        int64
	RequestID string
	Before    []byte
	After     []byte
}

// AuditQuery selects a page of an app's events, newest first.
type AuditQuery struct {
	Limit  int
	Before int64 // only events with a smaller id (0: from the newest)
	Target string
	Action string
}

// AuditStore reads the audit trail.
type AuditStore interface {
	ListAuditEvents(ctx context.Context, appID string, q AuditQuery) ([]AuditEvent, error)
	// PurgeAuditEvents deletes the events of every app recorded before before (epoch ms); it
	// returns how many.
	PurgeAuditEvents(ctx context.Context, before int64) (int64, error)
}

// AuditJSON encodes a record for an event in the API's wire shape (as McpServer, Agent
// and ApiKey are on the wire, camelCase); API keys lose their hash, servers their health.
func AuditJSON(v any) []byte {
	switch x := v.(type) {
	case nil:
		return nil
	case APIKey:
		v = auditKey{ID: x.ID, AppID: x.AppID, Scope: string(x.Scope), Prefix: x.Prefix, AgentUID: x.AgentUID, Name: x.Name, CreatedAt: x.CreatedAt, RevokedAt: x.RevokedAt}
	case MCPServer:
		v = &auditServer{ID: x.AppID + "_" + x.Slug, AppID: x.AppID, Slug: x.Slug, Name: x.Name, Description: x.Description,
			URL: x.URL, Icon: x.Icon, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt}
		if x.Auth.Configured() {
			v.(*auditServer).Auth = &auditAuth{Type: x.Auth.Type, Configured: true, HeaderNames: x.Auth.Names()}
		}
	case Agent:
		x.Normalize()
		a := auditAgentOf(x)
		return appendAuditAgent(make([]byte, 0, jsonw.Size(a.MCPServers)), &a)
	}
	b, _ := json.Marshal(v)
	return b
}

func auditAgentOf(x Agent) auditAgent {
	return auditAgent{UID: x.UID, AppID: x.AppID, Name: x.Name, Icon: x.Icon, IsActive: x.IsActive, Description: x.Description,
		Tools: x.Tools, Files: x.Files, Websites: x.Websites, OtherKbIntegrations: x.OtherKbIntegrations, APITools: x.APITools,
		MCPServers: x.MCPServers, FrontendActions: x.FrontendActions, RagVersion: x.RagVersion, LastMessageAt: x.LastMessageAt,
		Instruction: x.Instruction, MetaData: x.MetaData, Model: x.Model, ModelMetaData: x.ModelMetaData,
		Gateway: x.Gateway, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt}
}

// The wire shapes of audited records (openapi.yaml AuditMcpServer, AuditAgent, AuditApiKey).
type (
	auditKey struct {
		ID        string `json:"id"`
		AppID     string `json:"appId"`
		Scope     string `json:"scope"`
		Prefix    string `json:"prefix"`
		AgentUID  string `json:"agentUid,omitempty"`
		Name      string `json:"name,omitempty"`
		CreatedAt int64  `json:"createdAt"`
		RevokedAt int64  `json:"revokedAt"`
	}
	auditServer struct {
		ID          string     `json:"_id"`
		AppID       string     `json:"appId"`
		Slug        string     `json:"slug"`
		Name        string     `json:"name"`
		Description string     `json:"description"`
		URL         string     `json:"url"`
		Icon        string     `json:"icon"`
		CreatedAt   int64      `json:"createdAt"`
		UpdatedAt   int64      `json:"updatedAt"`
		Auth        *auditAuth `json:"auth,omitempty"` // type and header names: that auth changed, never its secret
	}
	auditAuth struct {
		Type        string   `json:"type"`
		Configured  bool     `json:"configured"`
		HeaderNames []string `json:"headerNames"`
	}
	auditAgent struct {
		UID                 string         `json:"uid"`
		AppID               string         `json:"appId"`
		Name                string         `json:"name"`
		Icon                string         `json:"icon"`
		IsActive            bool           `json:"isActive"`
		Description         string         `json:"description"`
		Tools               []string       `json:"tools"`
		Files               []string       `json:"files"`
		Websites            []string       `json:"websites"`
		OtherKbIntegrations []string       `json:"otherKbIntegrations"`
		APITools            []string       `json:"apiTools"`
		MCPServers          []string       `json:"mcpServers"`
		FrontendActions     []string       `json:"frontendActions"`
		RagVersion          string         `json:"ragVersion"`
		LastMessageAt       *int64         `json:"lastMessageAt"`
		Instruction         string         `json:"instruction"`
		MetaData            map[string]any `json:"metaData"`
		Model               string         `json:"model"`
		ModelMetaData       map[string]any `json:"modelMetaData"`
		Gateway             AgentGateway   `json:"gateway"`
		CreatedAt           int64          `json:"createdAt"`
		UpdatedAt           int64          `json:"updatedAt"`
	}
)

// Targets of events.
func ServerTarget(slug string) string { return "mcp_server:" + slug }
func AgentTarget(uid string) string   { return "agent:" + uid }
func KeyTarget(id string) string      { return "api_key:" + id }

// UpgradeAuditJSON rewrites a record stored by an older agentmcp, in Go's field names
// ("AppID", "Slug", …), into the wire shape; records already in it are returned as they are.
func UpgradeAuditJSON(b []byte) []byte {
	var probe map[string]json.RawMessage
	if json.Unmarshal(b, &probe) != nil || probe["AppID"] == nil {
		return b
	}
	decode := func(v any) []byte {
		if json.Unmarshal(b, v) != nil {
			return b
		}
		return AuditJSON(reflect.ValueOf(v).Elem().Interface())
	}
	switch {
	case probe["UID"] != nil:
		return decode(&Agent{})
	case probe["Slug"] != nil:
		return decode(&MCPServer{})
	case probe["Scope"] != nil:
		var k struct {
			ID, AppID, Scope, Prefix string
			CreatedAt, RevokedAt     int64
		}
		if json.Unmarshal(b, &k) != nil {
			return b
		}
		return AuditJSON(APIKey{ID: k.ID, AppID: k.AppID, Scope: Scope(k.Scope), Prefix: k.Prefix, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt})
	}
	return b
}
