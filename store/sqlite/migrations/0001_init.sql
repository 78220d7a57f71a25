-- Apps are tenants. clock is the last createdAt handed out in the app: every new record
-- takes max(now, clock + 1), so createdAt is strictly increasing per app and a keyset
-- cursor on it never skips or repeats.
CREATE TABLE apps (
    id         TEXT    PRIMARY KEY,
    created_at INTEGER NOT NULL,
    clock      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
    id         TEXT    PRIMARY KEY,
    app_id     TEXT    NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    scope      TEXT    NOT NULL CHECK (scope IN ('fullAccess', 'authOnly')),
    hash       BLOB    NOT NULL UNIQUE,
    prefix     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_app ON api_keys (app_id, created_at);

CREATE TABLE mcp_servers (
    app_id      TEXT    NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    slug        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    url         TEXT    NOT NULL,
    icon        TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (app_id, slug)
) WITHOUT ROWID;
CREATE UNIQUE INDEX mcp_servers_app_created ON mcp_servers (app_id, created_at);
