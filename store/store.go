// Package store defines the storage contract of agentmcp: the records, the sentinel errors
// and the Store interface that every backend (store/sqlite, store/postgres) implements.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Backends wrap or return them so callers can use errors.Is.
var (
	ErrNotFound          = errors.New("not found")
	ErrConflict          = errors.New("already exists")
	ErrUnavailable error = unavailableError{}
	// ErrLimitReached: the app already has NewMCPServer.Limit servers.
	ErrLimitReached = errors.New("limit reached")
)

// Scope is what an API key may do.
type Scope string

const (
	ScopeFullAccess Scope = "fullAccess"
	ScopeAuthOnly   Scope = "authOnly"
	// ScopeAgent keys use one agent's MCP gateway (APIKey.AgentUID) and nothing else.
	ScopeAgent Scope = "agent"
)

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return s == ScopeFullAccess || s == ScopeAuthOnly || s == ScopeAgent }

// App is a tenant: it owns MCP servers and API keys.
type App struct {
	ID        string
	CreatedAt int64 // epoch ms
}

// unavailableError is ErrUnavailable: a comparable value (errors.Is finds it) that says
// Unavailable, so the HTTP plumbing answers 503 without importing the store.
type unavailableError struct{}

func (unavailableError) Error() string     { return "store unavailable" }
func (unavailableError) Unavailable() bool { return true }

// APIKey is an API key as stored: only the SHA-256 of the secret is kept.
type APIKey struct {
	ID        string
	AppID     string
	Scope     Scope
	Hash      [32]byte
	Prefix    string // the first characters of the secret, to recognise a key in listings
	AgentUID  string // the agent an agent key is for ("" for app keys)
	Name      string // what the key is for, given when it was made
	CreatedAt int64
	RevokedAt int64 // 0 while the key is active
}

// MCPServer is one registered MCP server.
type MCPServer struct {
	AppID       string
	Slug        string
	Name        string
	Description string
	URL         string
	Icon        string
	CreatedAt   int64 // epoch ms, strictly increasing within an app
	UpdatedAt   int64
	Health      *Health  // nil until probed
	Auth        AuthInfo // what is stored of its credentials (never a value)
}

// NewMCPServer is what a create needs.
type NewMCPServer struct {
	Slug        string
	Name        string
	Description string
	URL         string
	Icon        string
	Auth        *Auth // nil: no credentials
	// Limit is the most servers the app may have (0: no limit); ErrLimitReached past it.
	Limit int
}

// MCPServerPatch is a partial update: nil fields are left as they are.
type MCPServerPatch struct {
	Name        *string
	Description *string
	URL         *string
	Icon        *string
	Auth        *Auth // nil: keep the stored credentials; Info.Type "none": remove them
}

// Affix selects the direction of a keyset page relative to a cursor.
type Affix string

const (
	AffixNone    Affix = ""        // the newest items
	AffixAppend  Affix = "append"  // items older than the cursor
	AffixPrepend Affix = "prepend" // items newer than the cursor
)

// Page asks for one keyset page. Results are always newest first.
type Page struct {
	Limit     int
	Affix     Affix
	CreatedAt int64  // the cursor; used when Affix is set
	Health    string // "", HealthOK, HealthFailing or HealthUnknown (MCP servers only)
}

// Store is the storage contract. Every method is scoped to one app; a record of another
// app is indistinguishable from a missing one.
type Store interface {
	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error
	Close() error

	CreateApp(ctx context.Context, id string) (App, error)
	ListApps(ctx context.Context) ([]App, error)

	CreateAPIKey(ctx context.Context, k APIKey) error
	// LookupAPIKey finds a key by the hash of its secret, revoked or not.
	LookupAPIKey(ctx context.Context, hash [32]byte) (APIKey, error)
	ListAPIKeys(ctx context.Context, appID string) ([]APIKey, error)
	RevokeAPIKey(ctx context.Context, id string) error

	CreateMCPServer(ctx context.Context, appID string, in NewMCPServer) (MCPServer, error)
	GetMCPServer(ctx context.Context, appID, slug string) (MCPServer, error)
	// UpdateMCPServer applies p if pre holds and returns the server as it was before and as
	// it is after (equal when nothing changed).
	UpdateMCPServer(ctx context.Context, appID, slug string, p MCPServerPatch, pre Precondition) (before, after MCPServer, err error)
	// DeleteMCPServer also detaches the server from every agent of the app, bumping their
	// updatedAt, in the same transaction.
	DeleteMCPServer(ctx context.Context, appID, slug string, pre Precondition) error
	ListMCPServers(ctx context.Context, appID string, p Page) ([]MCPServer, error)

	AgentStore
	ProbeStore
	IdempotencyStore
	AuditStore
	SecretStore
	RegistryStore
	PinStore
}

// PoolStats is what a store with connection pools reports, for metrics.
type PoolStats struct{ Open, InUse, Idle, Max int }

// Pooled is a store that reports its pools.
type Pooled interface{ PoolStats() PoolStats }

// NowMillis is the clock backends use for timestamps.
func NowMillis() int64 { return time.Now().UnixMilli() }

// Apply returns s with p applied and whether anything changed.
func (p MCPServerPatch) Apply(s MCPServer) (MCPServer, bool) {
	changed := false
	set := func(dst *string, v *string) {
		if v != nil && *dst != *v {
			*dst = *v
			changed = true
		}
	}
	set(&s.Name, p.Name)
	set(&s.Description, p.Description)
	set(&s.URL, p.URL)
	set(&s.Icon, p.Icon)
	return s, changed
}
