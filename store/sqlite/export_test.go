package sqlite

import "github.com/agentmcp/agentmcp/store"

// ListServersSQL is the query ListMCPServers runs, for EXPLAIN in tests.
func ListServersSQL(appID string, p store.Page) (string, []any) {
	where, order, args, _ := keyset(p, "")
	return "SELECT " + serverColumns + " FROM mcp_servers WHERE app_id = ?" + where + order + " LIMIT ?",
		append(append([]any{appID}, args...), p.Limit)
}
