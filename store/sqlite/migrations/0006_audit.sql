-- The audit trail: one event per write, in the write's transaction.
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id     TEXT    NOT NULL,
    key_id     TEXT    NOT NULL DEFAULT '',
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    request_id TEXT    NOT NULL DEFAULT '',
    before     TEXT,
    after      TEXT
);
CREATE INDEX audit_events_app ON audit_events (app_id, id);
