-- The authorization server of the agents' gateways (server/oauth): dynamically
-- registered clients, authorization requests and their codes, grants (one client's access
-- to one agent) and their tokens. Secrets are kept as SHA-256 hashes only. A grant dies
-- with its agent (the foreign key), its tokens with the grant.
CREATE TABLE oauth_clients (
    id            TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL DEFAULT '',
    redirect_uris TEXT    NOT NULL, -- JSON array
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL -- 0 once a grant used it
);
CREATE INDEX oauth_clients_expiry ON oauth_clients (expires_at) WHERE expires_at <> 0;
CREATE TABLE oauth_requests (
    id             TEXT    PRIMARY KEY,
    client_id      TEXT    NOT NULL,
    client_name    TEXT    NOT NULL DEFAULT '',
    agent_uid      TEXT    NOT NULL,
    redirect_uri   TEXT    NOT NULL,
    code_challenge TEXT    NOT NULL,
    state          TEXT    NOT NULL DEFAULT '',
    scope          TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    app_id         TEXT    NOT NULL DEFAULT '',
    approved_by    TEXT    NOT NULL DEFAULT '',
    code_hash      BLOB    UNIQUE,
    used_at        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX oauth_requests_expiry ON oauth_requests (expires_at);
CREATE TABLE oauth_grants (
    id           TEXT    PRIMARY KEY,
    app_id       TEXT    NOT NULL,
    agent_uid    TEXT    NOT NULL,
    client_id    TEXT    NOT NULL,
    client_name  TEXT    NOT NULL DEFAULT '',
    scope        TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    FOREIGN KEY (app_id, agent_uid) REFERENCES agents (app_id, uid) ON DELETE CASCADE
);
CREATE INDEX oauth_grants_agent ON oauth_grants (app_id, agent_uid, created_at);
CREATE TABLE oauth_tokens (
    hash       BLOB    PRIMARY KEY,
    grant_id   TEXT    NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('access', 'refresh')),
    expires_at INTEGER NOT NULL,
    used_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX oauth_tokens_grant ON oauth_tokens (grant_id);
CREATE INDEX oauth_tokens_expiry ON oauth_tokens (expires_at);
