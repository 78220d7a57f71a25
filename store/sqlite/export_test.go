package sqlite

import "github.com/agentmcp/agentmcp/store"

// ListServersSQL is the query ListMCPServers runs, for EXPLAIN in tests.
func ListServersSQL(appID string, p store.Page) (string, []any) {
	where, order, args, _ := keyset(p, "s.")
	return serverSelect + " WHERE s.app_id = ?" + store.HealthWhere(p.Health) + where + order + " LIMIT ?",
		append(append([]any{appID}, args...), p.Limit)
}
