-- Apps are tenants. clock is the last createdAt handed out in the app: every new record
-- takes greatest(now, clock + 1) under the app row's lock, so createdAt is strictly
-- increasing per app across every replica, and commits happen in createdAt order.
CREATE TABLE apps (
    id         TEXT   PRIMARY KEY,
    created_at BIGINT NOT NULL,
    clock      BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
    id         TEXT   PRIMARY KEY,
    app_id     TEXT   NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    scope      TEXT   NOT NULL CHECK (scope IN ('fullAccess', 'authOnly')),
    hash       BYTEA  NOT NULL UNIQUE,
    prefix     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_app ON api_keys (app_id, created_at);

CREATE TABLE mcp_servers (
    app_id      TEXT   NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    slug        TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    description TEXT   NOT NULL DEFAULT '',
    url         TEXT   NOT NULL,
    icon        TEXT   NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (app_id, slug)
);
CREATE UNIQUE INDEX mcp_servers_app_created ON mcp_servers (app_id, created_at);
