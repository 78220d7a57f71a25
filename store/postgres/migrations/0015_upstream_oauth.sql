-- OAuth connections to MCP servers (issue 33): each server's tokens and the client they
-- were issued to, sealed by the keyring like its credentials; and the authorization
-- requests a person was sent to, used once, expiring after 10 minutes. Both go with
-- their server.
CREATE TABLE upstream_oauth (
    app_id      TEXT    NOT NULL,
    slug        TEXT    NOT NULL,
    version     BIGINT  NOT NULL,
    key_id      TEXT    NOT NULL,
    sealed      BYTEA    NOT NULL,
    expires_at  BIGINT  NOT NULL DEFAULT 0, -- the access token's, epoch ms; 0: unknown
    scopes      TEXT    NOT NULL DEFAULT '',
    step_up     TEXT    NOT NULL DEFAULT '', -- scopes a 403 insufficient_scope asked for
    problem     TEXT    NOT NULL DEFAULT '', -- why the tokens stopped working
    lease_until BIGINT  NOT NULL DEFAULT 0, -- a refresh in flight holds the row until then
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (app_id, slug),
    FOREIGN KEY (app_id, slug) REFERENCES mcp_servers (app_id, slug) ON DELETE CASCADE
);
CREATE INDEX upstream_oauth_key ON upstream_oauth (key_id);
CREATE TABLE upstream_oauth_states (
    hash       BYTEA    PRIMARY KEY,
    app_id     TEXT    NOT NULL,
    slug       TEXT    NOT NULL,
    key_id     TEXT    NOT NULL,
    sealed     BYTEA    NOT NULL,
    expires_at BIGINT  NOT NULL,
    FOREIGN KEY (app_id, slug) REFERENCES mcp_servers (app_id, slug) ON DELETE CASCADE
);
CREATE INDEX upstream_oauth_states_expiry ON upstream_oauth_states (expires_at);
CREATE INDEX upstream_oauth_states_server ON upstream_oauth_states (app_id, slug);
