-- The change feed moves out of the write transactions (store/postgres/feed.go): a NOTIFY
-- holds a database-wide lock from pre-commit through the commit's WAL flush, so these
-- triggers serialised every write that fired them. Each replica now notifies after commit.
DROP TRIGGER mcp_servers_changes ON mcp_servers;
DROP TRIGGER mcp_server_probes_added ON mcp_server_probes;
DROP TRIGGER mcp_server_probes_changes ON mcp_server_probes;
DROP TRIGGER agents_changes ON agents;
DROP TRIGGER agent_mcp_servers_changes ON agent_mcp_servers;
DROP FUNCTION agentmcp_notify_server();
DROP FUNCTION agentmcp_notify_agent();
DROP FUNCTION agentmcp_notify_attachment();
