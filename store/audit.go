package store

import (
	"context"
	"encoding/json"
)

// Actor is who makes a write, for the audit trail.
type Actor struct{ KeyID, RequestID string }

type actorKey struct{}

// WithActor names the key and request behind the writes made with ctx.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor of ctx (zero for writes made by commands, not requests).
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
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
}

// AuditJSON encodes a record for an event; API keys lose their hash.
func AuditJSON(v any) []byte {
	switch x := v.(type) {
	case nil:
		return nil
	case APIKey:
		v = struct {
			ID, AppID, Scope, Prefix string
			CreatedAt, RevokedAt     int64
		}{x.ID, x.AppID, string(x.Scope), x.Prefix, x.CreatedAt, x.RevokedAt}
	}
	b, _ := json.Marshal(v)
	return b
}

// Targets of events.
func ServerTarget(slug string) string { return "mcp_server:" + slug }
func AgentTarget(uid string) string   { return "agent:" + uid }
func KeyTarget(id string) string      { return "api_key:" + id }
