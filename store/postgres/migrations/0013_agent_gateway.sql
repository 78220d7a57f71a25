-- Each agent's gateway settings (issue 32), one JSON object so that later settings (a tool
-- policy per server) need no migration: {"toolNames": "prefixed" | "original"}. '{}' is the
-- defaults (prefixed tool names, as every agent had before).
ALTER TABLE agents ADD COLUMN gateway jsonb NOT NULL DEFAULT '{}';
