package postgres

import "github.com/agentmcp/agentmcp/store"

// ListServersSQL is the query ListMCPServers runs, for EXPLAIN in tests.
func ListServersSQL(appID string, p store.Page) (string, []any) {
	sql, args, _ := pageSQL(serverSelect+" WHERE s.app_id = $1"+store.HealthWhere(p.Health), "s.", appID, p)
	return sql, args
}
