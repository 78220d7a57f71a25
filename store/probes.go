package store

import "context"

// Health is the summary of a server's last probe, carried on the MCP server object.
type Health struct {
	Status    string
	CheckedAt int64
	ToolCount int
}

// Health filters of a list.
const (
	HealthOK      = "ok"      // the last probe succeeded
	HealthFailing = "failing" // the last probe failed, in any way
	HealthUnknown = "unknown" // never probed
)

// ProbeRecord is the last probe of a server. Tools and ToolsCheckedAt are from the last
// successful probe (nil/0 if none ever succeeded).
type ProbeRecord struct {
	Status           string
	CheckedAt        int64
	LatencyMs        int64
	ProtocolVersion  string
	ServerName       string
	ServerVersion    string
	Capabilities     map[string]any
	ToolCount        int
	Error            string
	AuthScheme       string
	ResourceMetadata string
	Tools            []byte // JSON array of tools
	ToolsCheckedAt   int64
}

// ServerRef names a server to probe.
type ServerRef struct{ AppID, Slug, URL string }

// ProbeStore keeps probe results. Writing one never changes the server's updatedAt.
type ProbeStore interface {
	// SaveProbe records r as the server's last probe (keeping the tools of the last
	// successful one when r failed). ErrNotFound if the server is gone.
	SaveProbe(ctx context.Context, appID, slug string, r ProbeRecord) error
	// GetProbe returns the last probe; ErrNotFound if the server was never probed.
	GetProbe(ctx context.Context, appID, slug string) (ProbeRecord, error)
	// ClaimProbes leases up to limit servers, of any app, whose last probe is older than
	// staleBefore (or missing) and that no one holds a lease on, until leaseUntil. Replicas
	// sharing a database never claim the same server at once.
	ClaimProbes(ctx context.Context, staleBefore, now, leaseUntil int64, limit int) ([]ServerRef, error)
}
