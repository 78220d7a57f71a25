-- Each agent's attached slugs, in attachment order, on its own row (issue 19): reading an
-- agent read them from agent_mcp_servers with an aggregate that grew with the list, up to
-- three times per attach. agent_mcp_servers stays the source of the foreign keys and of
-- positions; every write that changes it writes this column in the same transaction.
ALTER TABLE agents ADD COLUMN mcp_servers jsonb NOT NULL DEFAULT '[]';
UPDATE agents a SET mcp_servers = COALESCE((SELECT jsonb_agg(m.slug ORDER BY m.position)
    FROM agent_mcp_servers m WHERE m.app_id = a.app_id AND m.agent_uid = a.uid), '[]'::jsonb)
    WHERE EXISTS (SELECT 1 FROM agent_mcp_servers m WHERE m.app_id = a.app_id AND m.agent_uid = a.uid);
