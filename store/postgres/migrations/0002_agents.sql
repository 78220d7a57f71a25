-- Agents, and the MCP servers attached to them. The foreign keys make a dangling
-- attachment impossible: deleting a server deletes its attachments in the same statement.
CREATE TABLE agents (
    app_id                TEXT    NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    uid                   TEXT    NOT NULL,
    name                  TEXT    NOT NULL,
    icon                  TEXT    NOT NULL DEFAULT '',
    is_active             BOOLEAN NOT NULL DEFAULT TRUE,
    description           TEXT    NOT NULL DEFAULT '',
    tools                 JSONB   NOT NULL DEFAULT '[]', -- stored as given
    files                 JSONB   NOT NULL DEFAULT '[]',
    websites              JSONB   NOT NULL DEFAULT '[]',
    other_kb_integrations JSONB   NOT NULL DEFAULT '[]',
    api_tools             JSONB   NOT NULL DEFAULT '[]',
    frontend_actions      JSONB   NOT NULL DEFAULT '[]',
    rag_version           TEXT    NOT NULL DEFAULT 'v2',
    last_message_at       BIGINT,
    instruction           TEXT    NOT NULL DEFAULT '',
    meta_data             JSONB   NOT NULL DEFAULT '{}',
    model                 TEXT    NOT NULL DEFAULT '',
    model_meta_data       JSONB   NOT NULL DEFAULT '{}',
    created_at            BIGINT  NOT NULL,
    updated_at            BIGINT  NOT NULL,
    PRIMARY KEY (app_id, uid)
);
CREATE UNIQUE INDEX agents_app_created ON agents (app_id, created_at);

CREATE TABLE agent_mcp_servers (
    app_id    TEXT   NOT NULL,
    agent_uid TEXT   NOT NULL,
    slug      TEXT   NOT NULL,
    position  BIGINT NOT NULL,
    PRIMARY KEY (app_id, agent_uid, slug),
    FOREIGN KEY (app_id, agent_uid) REFERENCES agents (app_id, uid) ON DELETE CASCADE,
    FOREIGN KEY (app_id, slug) REFERENCES mcp_servers (app_id, slug) ON DELETE CASCADE
);
CREATE INDEX agent_mcp_servers_slug ON agent_mcp_servers (app_id, slug);
CREATE UNIQUE INDEX agent_mcp_servers_order ON agent_mcp_servers (app_id, agent_uid, position);
