-- Credentials of MCP servers (sealed: AES-256-GCM under a data key that only a keeper can
-- unwrap), agent keys, and the wrapped data keys.
ALTER TABLE mcp_servers ADD COLUMN auth_type TEXT NOT NULL DEFAULT '';
ALTER TABLE mcp_servers ADD COLUMN auth_headers TEXT NOT NULL DEFAULT '';
ALTER TABLE mcp_servers ADD COLUMN auth_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE mcp_servers ADD COLUMN auth_sealed BLOB;
CREATE INDEX mcp_servers_auth_key ON mcp_servers (auth_key_id) WHERE auth_key_id <> '';
-- SQLite cannot change a CHECK: the key table is rebuilt with the agent scope (nothing
-- references it by foreign key).
CREATE TABLE api_keys_new (
    id         TEXT    PRIMARY KEY,
    app_id     TEXT    NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    scope      TEXT    NOT NULL CHECK (scope IN ('fullAccess', 'authOnly', 'agent')),
    hash       BLOB    NOT NULL UNIQUE,
    prefix     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL DEFAULT 0,
    agent_uid  TEXT    NOT NULL DEFAULT '',
    name       TEXT    NOT NULL DEFAULT ''
);
INSERT INTO api_keys_new (id, app_id, scope, hash, prefix, created_at, revoked_at)
    SELECT id, app_id, scope, hash, prefix, created_at, revoked_at FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_new RENAME TO api_keys;
CREATE INDEX api_keys_app ON api_keys (app_id, created_at);
CREATE TABLE data_keys (
    id         TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);
CREATE TABLE data_key_wraps (
    key_id  TEXT NOT NULL REFERENCES data_keys (id) ON DELETE CASCADE,
    keeper  TEXT NOT NULL,
    wrapped BLOB NOT NULL,
    PRIMARY KEY (key_id, keeper)
);
