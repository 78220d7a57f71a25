package postgres

import (
	"github.com/agentmcp/agentmcp/store"
	"github.com/agentmcp/agentmcp/store/internal/sqlstore"
)

// ListServersSQL is the query ListMCPServers runs, as the pool receives it, for EXPLAIN in tests.
func ListServersSQL(appID string, p store.Page) (string, []any) {
	q, args := sqlstore.ListServersSQL(appID, p)
	return sqlstore.Dollar(q), args
}

// BatchedCreates counts the creates that went in a batch of more than one.
func BatchedCreates(s *Store) int64 { return s.creates.batched.Load() }
