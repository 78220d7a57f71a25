package sqlite

import (
	"time"

	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/internal/sqlstore"
)

// ListServersSQL is the query ListMCPServers runs, for EXPLAIN in tests.
func ListServersSQL(appID string, p store.Page) (string, []any) {
	return sqlstore.ListServersSQL(appID, p)
}

// WithBusyTimeout sets how long a write waits for another connection's lock.
func WithBusyTimeout(o Options, d time.Duration) Options {
	o.busyTimeout = d
	return o
}
