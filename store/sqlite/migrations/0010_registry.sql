-- Each app's switch for its read-only MCP Registry view (issue 16); off for every app.
-- The view lists servers and agents by their primary keys, whose BINARY order it uses.
ALTER TABLE apps ADD COLUMN registry INTEGER NOT NULL DEFAULT 0;
