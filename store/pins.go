package store

import (
	"context"
	"encoding/json"
	"errors"
)

// ErrStaleChange: no change of the agent's tools awaits a decision under the hash given
// (the server changed the definition again, or it was decided already). Nothing changed.
var ErrStaleChange = errors.New("no pending change has this hash")

// Kinds of pinned items; PinServer marks a server the agent's gateway has seen.
const (
	PinTool     = "tool"
	PinPrompt   = "prompt"
	PinResource = "resource"
	PinTemplate = "template"
	PinServer   = "server"
)

// Audit actions of pinned definitions (target: AgentTarget of the agent).
const (
	AuditToolChanged  = "tool.changed"
	AuditToolApproved = "tool.approved"
	AuditToolRejected = "tool.rejected"
)

// ToolPin is the pinned definition of one item (Kind) of one of an agent's servers, by
// the server's own name (or URI), and the definition that awaits a decision, if any.
// Definitions are JSON (nil: none).
type ToolPin struct {
	Server, Kind, Name      string
	Approved, Pending       string // hashes ("" none)
	ApprovedDef, PendingDef []byte
	Rejected                bool // the pending definition was refused
	UpdatedAt               int64
}

// PinObservation is one item as a gateway saw it: its definition and that definition's hash.
type PinObservation struct {
	Server, Kind, Name, Hash string
	Def                      []byte
	Flags                    []string // what the description scanner found, for the audit event
}

// PinStore keeps the definitions each agent's gateway pinned.
type PinStore interface {
	// ListToolPins returns the agent's pins (markers of kind PinServer included), by
	// server, kind and name; ErrNotFound when there is no such agent.
	ListToolPins(ctx context.Context, appID, uid string) ([]ToolPin, error)
	// ObserveToolPins records what the gateway saw, in one transaction: the items of a
	// server the agent's gateway never saw before are pinned as they are (and the server
	// marked seen); an item whose definition differs from its approved one (or that has
	// none) awaits a decision under its hash, with an audit event AuditToolChanged; an item
	// back at its approved definition has nothing pending. It returns the pins whose
	// pending definition it changed. ErrNotFound when there is no such agent.
	ObserveToolPins(ctx context.Context, appID, uid string, seen []PinObservation) ([]ToolPin, error)
	// DecideToolChange approves (the pending definition becomes the approved one) or
	// rejects (it stays withheld) the change of the agent's items awaiting under hash, with
	// an audit event; ErrStaleChange when none awaits under it, ErrNotFound without the agent.
	DecideToolChange(ctx context.Context, appID, uid, hash string, approve bool) (ToolPin, error)
}

// AuditDefinition is the audit record of a pinned or pending definition (the wire's
// AuditToolDefinition).
type AuditDefinition struct {
	Server     string          `json:"server"`
	Kind       string          `json:"kind"`
	Name       string          `json:"name"`
	Hash       string          `json:"hash"`
	Definition json.RawMessage `json:"definition"`
	Flags      []string        `json:"flags,omitempty"`
}
