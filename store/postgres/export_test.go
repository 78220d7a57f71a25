package postgres

import "github.com/agentmcp/agentmcp/store"

// ListServersSQL is the query ListMCPServers runs, for EXPLAIN in tests.
func ListServersSQL(appID string, p store.Page) (string, []any) {
	sql, args, _ := pageSQL("SELECT "+serverColumns+" FROM mcp_servers WHERE app_id = $1", "", appID, p)
	return sql, args
}
