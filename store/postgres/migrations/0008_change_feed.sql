-- The change feed: every write an agent's tools depend on notifies channel agentmcp_changes
-- in its own transaction (delivered at commit, to every replica that listens).
CREATE FUNCTION agentmcp_notify_server() RETURNS trigger AS $$
DECLARE r RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    PERFORM pg_notify('agentmcp_changes', json_build_object('k', 'mcp_server', 'a', r.app_id, 'id', r.slug)::text);
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE FUNCTION agentmcp_notify_agent() RETURNS trigger AS $$
DECLARE r RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    PERFORM pg_notify('agentmcp_changes', json_build_object('k', 'agent', 'a', r.app_id, 'id', r.uid)::text);
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE FUNCTION agentmcp_notify_attachment() RETURNS trigger AS $$
DECLARE r RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    PERFORM pg_notify('agentmcp_changes', json_build_object('k', 'agent', 'a', r.app_id, 'id', r.agent_uid)::text);
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER mcp_servers_changes AFTER UPDATE OR DELETE ON mcp_servers
    FOR EACH ROW EXECUTE FUNCTION agentmcp_notify_server();
CREATE TRIGGER mcp_server_probes_added AFTER INSERT ON mcp_server_probes
    FOR EACH ROW EXECUTE FUNCTION agentmcp_notify_server();
CREATE TRIGGER mcp_server_probes_changes AFTER UPDATE ON mcp_server_probes
    FOR EACH ROW WHEN (OLD.tools IS DISTINCT FROM NEW.tools) EXECUTE FUNCTION agentmcp_notify_server();
CREATE TRIGGER agents_changes AFTER UPDATE OR DELETE ON agents
    FOR EACH ROW EXECUTE FUNCTION agentmcp_notify_agent();
CREATE TRIGGER agent_mcp_servers_changes AFTER INSERT OR DELETE ON agent_mcp_servers
    FOR EACH ROW EXECUTE FUNCTION agentmcp_notify_attachment();
