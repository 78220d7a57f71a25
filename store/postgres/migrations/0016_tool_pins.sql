-- Tool policy (issue 35). Agents that existed before pinning get pinning "warn": an
-- upgrade withholds nothing from them (a person opts in to "enforce", which new agents
-- get by default); their definitions are still pinned on first sight and every change
-- recorded.
UPDATE agents SET gateway = gateway || '{"pinning": "warn"}'::jsonb;
-- The definitions each agent's gateway pinned, one row per item of a server (kind tool,
-- prompt, resource, template) by the server's own name (or URI), and one row of kind
-- 'server' (name '') per server the gateway has seen for the agent: its items were pinned
-- as they were then. A definition that differs from the approved one (approved_hash ''
-- for an item that came later) awaits a decision (pending_hash, rejected once refused).
-- Definitions are JSON text. A pin dies with its agent.
CREATE TABLE tool_pins (
    app_id        TEXT    NOT NULL,
    agent_uid     TEXT    NOT NULL,
    server_slug   TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    approved_hash TEXT    NOT NULL DEFAULT '',
    approved_def  TEXT    NOT NULL DEFAULT '',
    pending_hash  TEXT    NOT NULL DEFAULT '',
    pending_def   TEXT    NOT NULL DEFAULT '',
    rejected      BOOLEAN NOT NULL DEFAULT false,
    updated_at    BIGINT  NOT NULL,
    PRIMARY KEY (app_id, agent_uid, server_slug, kind, name),
    FOREIGN KEY (app_id, agent_uid) REFERENCES agents (app_id, uid) ON DELETE CASCADE
);
CREATE INDEX tool_pins_pending ON tool_pins (app_id, agent_uid, pending_hash) WHERE pending_hash <> '';
