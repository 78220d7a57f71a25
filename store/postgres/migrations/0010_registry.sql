-- Each app's switch for its read-only MCP Registry view (issue 16); off for every app.
ALTER TABLE apps ADD COLUMN registry BOOLEAN NOT NULL DEFAULT false;
-- The view pages servers and agents in byte order (the cursor is compared in Go too),
-- which the primary keys, in the database's collation, do not give.
CREATE INDEX mcp_servers_registry ON mcp_servers (app_id, slug COLLATE "C");
CREATE INDEX agents_registry ON agents (app_id, uid COLLATE "C");
