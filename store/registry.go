package store

import "context"

// RegistryQuery selects what ListRegistry returns: up to Limit MCP servers and up to Limit
// agents of one app, each kind in ascending byte order of its key (slug, uid).
type RegistryQuery struct {
	Servers, Agents RegistryRange
	// Search keeps the records whose key, name or description contains it, ignoring case
	// ("" keeps all). SQLite folds ASCII letters only.
	Search string
	// UpdatedSince keeps the records with updatedAt greater than it (epoch ms; 0 keeps all).
	UpdatedSince int64
	Limit        int
}

// RegistryRange selects the records of one kind.
type RegistryRange struct {
	Skip  bool   // none of this kind
	After string // only keys greater than this ("" from the first)
	Key   string // only this key (After is then ignored)
}

// RegistryPage is what ListRegistry returns.
type RegistryPage struct {
	Servers []MCPServer
	Agents  []Agent
}

// RegistryStore keeps each app's switch for its read-only MCP Registry view and lists what
// the view shows. Nothing here is cached: a switch or a delete shows at the next read.
type RegistryStore interface {
	// SetRegistry turns the app's registry view on or off; ErrNotFound for an unknown app.
	SetRegistry(ctx context.Context, appID string, on bool) error
	// RegistryEnabled reports whether the app's registry view is on; ErrNotFound for an
	// unknown app.
	RegistryEnabled(ctx context.Context, appID string) (bool, error)
	// ListRegistry returns the records q selects; ErrNotFound, alike, when the app does not
	// exist and when its registry view is off.
	ListRegistry(ctx context.Context, appID string, q RegistryQuery) (RegistryPage, error)
}
