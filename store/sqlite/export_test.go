package sqlite

import (
	"context"
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

// CacheSizes is PRAGMA cache_size on the writer and on n read connections held at once.
func CacheSizes(ctx context.Context, s *Store, n int) (writer int, readers []int, err error) {
	if err := s.w.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&writer); err != nil {
		return 0, nil, err
	}
	for range n {
		c, err := s.r.Conn(ctx)
		if err != nil {
			return 0, nil, err
		}
		defer c.Close()
		var v int
		if err := c.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&v); err != nil {
			return 0, nil, err
		}
		readers = append(readers, v)
	}
	return writer, readers, nil
}
