-- The last probe of each MCP server (agentmcp's own addition), kept apart from the server
-- row so that a probe never changes updatedAt. tools are from the last successful probe.
CREATE TABLE mcp_server_probes (
    app_id            TEXT    NOT NULL,
    slug              TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    checked_at        BIGINT  NOT NULL,
    latency_ms        BIGINT  NOT NULL DEFAULT 0,
    protocol_version  TEXT    NOT NULL DEFAULT '',
    server_name       TEXT    NOT NULL DEFAULT '',
    server_version    TEXT    NOT NULL DEFAULT '',
    capabilities      TEXT    NOT NULL DEFAULT '{}',
    tool_count        INTEGER NOT NULL DEFAULT 0,
    error             TEXT    NOT NULL DEFAULT '',
    auth_scheme       TEXT    NOT NULL DEFAULT '',
    resource_metadata TEXT    NOT NULL DEFAULT '',
    tools             TEXT,
    tools_checked_at  BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, slug),
    FOREIGN KEY (app_id, slug) REFERENCES mcp_servers (app_id, slug) ON DELETE CASCADE
);
CREATE INDEX mcp_server_probes_checked ON mcp_server_probes (checked_at);

-- Background probing leases: a replica claims a server before probing it.
CREATE TABLE probe_leases (
    app_id  TEXT   NOT NULL,
    slug    TEXT   NOT NULL,
    until   BIGINT NOT NULL,
    PRIMARY KEY (app_id, slug),
    FOREIGN KEY (app_id, slug) REFERENCES mcp_servers (app_id, slug) ON DELETE CASCADE
);
