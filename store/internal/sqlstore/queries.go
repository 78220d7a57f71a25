package sqlstore

// The queries that are the same in every dialect.
const (
	keyColumns    = "id, app_id, scope, hash, prefix, created_at, revoked_at, agent_uid, name"
	serverColumns = "app_id, slug, name, description, url, icon, created_at, updated_at, auth_type, auth_headers, auth_key_id, auth_sealed"

	// serverFields are a server's columns (alias s) scanServer reads, before its health.
	serverFields = `s.app_id, s.slug, s.name, s.description, s.url, s.icon, s.created_at, s.updated_at,
	s.auth_type, s.auth_headers, p.status, p.checked_at, p.tool_count`
	// serverSelect reads servers (alias s) with the health of their last probe (alias p).
	serverSelect = `SELECT ` + serverFields + `
	FROM mcp_servers s LEFT JOIN mcp_server_probes p ON p.app_id = s.app_id AND p.slug = s.slug`
	serverByKey = serverSelect + " WHERE s.app_id = ? AND s.slug = ?"

	probeColumns = `status, checked_at, latency_ms, protocol_version, server_name, server_version, capabilities,
	tool_count, error, auth_scheme, resource_metadata, tools, tools_checked_at`

	idempotencySelect = "SELECT request_hash, status, body, etag, created_at FROM idempotency_keys WHERE app_id = ? AND key = ?"
)

// queries are the statements built from the dialect, once per store, so that every call
// runs the same SQL text (the statement caches of both drivers are keyed by it).
type queries struct {
	revokeKeySelect   string
	getServerForWrite string
	tick, claimServer string
	touchServerAgents string
	getAgent          string
	getAgentForWrite  string
	// agentVersion and agentVersionForWrite are the agent cache's check (agentcache.go), the
	// second with the row lock getAgentForWrite takes.
	agentVersion, agentVersionForWrite string
	listAgents                         string
	checkServers                       string
	checkServer                        string // checkServers of one slug, without json_each or unnest
	appendServers                      string
	appendServer                       string // appendServers of one slug
	setAgentServers                    string
	updateAgent                        string
	detach                             string
	detachOne                          string // detach of one slug
	idempotencyLock                    string

	// getAgentsForWrite and agentVersionsForWrite lock several agents (one list parameter)
	// in uid order; getAgents reads them after.
	getAgentsForWrite, agentVersionsForWrite, getAgents string
	// lockServerAgents locks, in uid order, the agents a server's delete will change.
	lockServerAgents string
	// serverTools reads the tools of the last successful probe of the servers of a list.
	serverTools string
}

func newQueries(d *Dialect) queries {
	getAgent := "SELECT " + d.AgentColumns + " FROM agents a WHERE a.app_id = ? AND a.uid = ?"
	agentVersion := "SELECT a.created_at, a.updated_at FROM agents a WHERE a.app_id = ? AND a.uid = ?"
	return queries{
		revokeKeySelect:   "SELECT " + keyColumns + " FROM api_keys WHERE id = ?" + d.lock(" FOR UPDATE"),
		getServerForWrite: serverByKey + d.lock(" FOR UPDATE OF s"),
		tick:              "UPDATE apps SET clock = " + d.Greatest + "(clock + 1, ?) WHERE id = ? RETURNING clock",
		claimServer: "UPDATE apps SET clock = " + d.Greatest + `(clock + 1, ?), servers = servers + 1
			WHERE id = ? AND (? <= 0 OR servers < ?) RETURNING clock`,
		touchServerAgents: "UPDATE agents SET updated_at = " + d.Greatest + `(?, updated_at + 1), mcp_servers = ` + d.RemoveSlug + `
			WHERE app_id = ? AND uid IN (SELECT agent_uid FROM agent_mcp_servers WHERE app_id = ? AND slug = ?)`,
		getAgent:             getAgent,
		getAgentForWrite:     getAgent + d.lock(" FOR UPDATE OF a"),
		agentVersion:         agentVersion,
		agentVersionForWrite: agentVersion + d.lock(" FOR UPDATE OF a"),
		listAgents:           "SELECT " + d.AgentColumns + " FROM agents a WHERE a.app_id = ?",
		// KEY SHARE: no server being attached is deleted before the transaction ends.
		checkServers: "SELECT slug FROM mcp_servers WHERE app_id = ? AND slug" + d.InList + d.lock(" ORDER BY slug FOR KEY SHARE"),
		checkServer:  "SELECT slug FROM mcp_servers WHERE app_id = ? AND slug = ?" + d.lock(" FOR KEY SHARE"),
		appendServers: `INSERT INTO agent_mcp_servers (app_id, agent_uid, slug, position)
			SELECT ?, ?, s.slug, (SELECT COALESCE(MAX(position), 0) FROM agent_mcp_servers WHERE app_id = ? AND agent_uid = ?) + s.n
			FROM ` + d.SlugRows,
		appendServer: `INSERT INTO agent_mcp_servers (app_id, agent_uid, slug, position)
			VALUES (?, ?, ?, (SELECT COALESCE(MAX(position), 0) + 1 FROM agent_mcp_servers WHERE app_id = ? AND agent_uid = ?))`,
		setAgentServers: "UPDATE agents SET mcp_servers = ?, updated_at = ? WHERE app_id = ? AND uid = ?",
		updateAgent: `UPDATE agents SET name = ?, icon = ?, is_active = ?, description = ?,
			tools = ?, files = ?, websites = ?, other_kb_integrations = ?, api_tools = ?, frontend_actions = ?,
			rag_version = ?, instruction = ?, meta_data = ?, model = ?, model_meta_data = ?, mcp_servers = ?,
			gateway = ?, updated_at = ` + d.Greatest + "(?, updated_at + 1) WHERE app_id = ? AND uid = ?",
		detach:          "DELETE FROM agent_mcp_servers WHERE app_id = ? AND agent_uid = ? AND slug" + d.InList,
		detachOne:       "DELETE FROM agent_mcp_servers WHERE app_id = ? AND agent_uid = ? AND slug = ?",
		idempotencyLock: idempotencySelect + d.lock(" FOR UPDATE"),

		getAgentsForWrite:     "SELECT " + d.AgentColumns + " FROM agents a WHERE a.app_id = ? AND a.uid" + d.InList + " ORDER BY a.uid" + d.lock(" FOR UPDATE OF a"),
		agentVersionsForWrite: "SELECT a.uid, a.created_at, a.updated_at FROM agents a WHERE a.app_id = ? AND a.uid" + d.InList + " ORDER BY a.uid" + d.lock(" FOR UPDATE OF a"),
		getAgents:             "SELECT " + d.AgentColumns + " FROM agents a WHERE a.app_id = ? AND a.uid" + d.InList,
		lockServerAgents: `SELECT a.uid FROM agents a WHERE a.app_id = ? AND a.uid IN
			(SELECT agent_uid FROM agent_mcp_servers WHERE app_id = ? AND slug = ?) ORDER BY a.uid` + d.lock(" FOR UPDATE OF a"),
		serverTools: "SELECT slug, tools FROM mcp_server_probes WHERE app_id = ? AND tools IS NOT NULL AND slug" + d.InList,
	}
}
