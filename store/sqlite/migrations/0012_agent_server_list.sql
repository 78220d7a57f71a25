-- Each agent's attached slugs, in attachment order, on its own row (issue 19): reading an
-- agent read them from agent_mcp_servers with an aggregate that grew with the list, twice
-- per attach. agent_mcp_servers stays the source of the foreign keys and of positions;
-- every write that changes it writes this column in the same transaction.
ALTER TABLE agents ADD COLUMN mcp_servers TEXT NOT NULL DEFAULT '[]';
UPDATE agents SET mcp_servers = (SELECT json_group_array(m.slug ORDER BY m.position)
    FROM agent_mcp_servers m WHERE m.app_id = agents.app_id AND m.agent_uid = agents.uid);
