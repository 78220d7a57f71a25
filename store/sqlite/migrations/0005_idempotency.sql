-- Idempotency keys of creates: the first request with a key holds the row (status 0) while
-- it runs, then stores its response for replays; rows older than a day are purged.
CREATE TABLE idempotency_keys (
    app_id       TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    body         TEXT    NOT NULL DEFAULT '',
    etag         TEXT    NOT NULL DEFAULT '',
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (app_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
