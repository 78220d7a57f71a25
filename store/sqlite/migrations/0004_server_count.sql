-- How many MCP servers each app has, kept in the app row that every create already locks,
-- so the per-app limit costs no count.
ALTER TABLE apps ADD COLUMN servers INTEGER NOT NULL DEFAULT 0;
UPDATE apps SET servers = (SELECT COUNT(*) FROM mcp_servers m WHERE m.app_id = apps.id);
