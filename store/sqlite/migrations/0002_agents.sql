-- Agents, and the MCP servers attached to them. The foreign keys make a dangling
-- attachment impossible: deleting a server deletes its attachments in the same statement.
CREATE TABLE agents (
    app_id                TEXT    NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    uid                   TEXT    NOT NULL,
    name                  TEXT    NOT NULL,
    icon                  TEXT    NOT NULL DEFAULT '',
    is_active             INTEGER NOT NULL DEFAULT 1,
    description           TEXT    NOT NULL DEFAULT '',
    tools                 TEXT    NOT NULL DEFAULT '[]', -- JSON arrays, stored as given
    files                 TEXT    NOT NULL DEFAULT '[]',
    websites              TEXT    NOT NULL DEFAULT '[]',
    other_kb_integrations TEXT    NOT NULL DEFAULT '[]',
    api_tools             TEXT    NOT NULL DEFAULT '[]',
    frontend_actions      TEXT    NOT NULL DEFAULT '[]',
    rag_version           TEXT    NOT NULL DEFAULT 'v2',
    last_message_at       INTEGER,
    instruction           TEXT    NOT NULL DEFAULT '',
    meta_data             TEXT    NOT NULL DEFAULT '{}',
    model                 TEXT    NOT NULL DEFAULT '',
    model_meta_data       TEXT    NOT NULL DEFAULT '{}',
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    PRIMARY KEY (app_id, uid)
) WITHOUT ROWID;
CREATE UNIQUE INDEX agents_app_created ON agents (app_id, created_at);

CREATE TABLE agent_mcp_servers (
    app_id    TEXT    NOT NULL,
    agent_uid TEXT    NOT NULL,
    slug      TEXT    NOT NULL,
    position  INTEGER NOT NULL,
    PRIMARY KEY (app_id, agent_uid, slug),
    FOREIGN KEY (app_id, agent_uid) REFERENCES agents (app_id, uid) ON DELETE CASCADE,
    FOREIGN KEY (app_id, slug) REFERENCES mcp_servers (app_id, slug) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX agent_mcp_servers_slug ON agent_mcp_servers (app_id, slug);
CREATE UNIQUE INDEX agent_mcp_servers_order ON agent_mcp_servers (app_id, agent_uid, position);
