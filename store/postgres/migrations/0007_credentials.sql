-- Credentials of MCP servers (sealed: AES-256-GCM under a data key that only a keeper can
-- unwrap), agent keys, and the wrapped data keys.
ALTER TABLE mcp_servers ADD COLUMN auth_type TEXT NOT NULL DEFAULT '';
ALTER TABLE mcp_servers ADD COLUMN auth_headers TEXT NOT NULL DEFAULT '';
ALTER TABLE mcp_servers ADD COLUMN auth_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE mcp_servers ADD COLUMN auth_sealed BYTEA;
CREATE INDEX mcp_servers_auth_key ON mcp_servers (auth_key_id) WHERE auth_key_id <> '';
ALTER TABLE api_keys ADD COLUMN agent_uid TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scope_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scope_check CHECK (scope IN ('fullAccess', 'authOnly', 'agent'));
CREATE TABLE data_keys (
    id         TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);
CREATE TABLE data_key_wraps (
    key_id  TEXT NOT NULL REFERENCES data_keys (id) ON DELETE CASCADE,
    keeper  TEXT NOT NULL,
    wrapped BYTEA NOT NULL,
    PRIMARY KEY (key_id, keeper)
);
