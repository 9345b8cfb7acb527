-- Outgoing webhooks and bot event subscriptions (#19): endpoints that receive a room's (or a
-- bot's rooms') events, signed; a delivery queue fed by the log consumer 'outgoing' (ids and
-- positions only: the payload is read from the event log when it is sent, so a deleted
-- message is sent redacted); a short log of delivery attempts (no text); and slash commands.
-- rolling: yes (new tables only; the previous release never reads them)

CREATE TABLE outgoing_hooks (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,               -- 'room': a room's hook | 'bot': a bot's subscription
    room_id         TEXT REFERENCES rooms (id),  -- a room hook's room; NULL for a bot's
    bot_id          TEXT NOT NULL REFERENCES users (id),  -- whose view it gets; replies post as it
    url             TEXT NOT NULL,
    events          TEXT NOT NULL,               -- JSON list of event types
    trigger_words   TEXT NOT NULL,               -- JSON list; [] : every message
    secret          TEXT NOT NULL,               -- the signing key (HMAC needs it); shown once
    after_pos       BIGINT NOT NULL,             -- delivers only events after this position
    failures        INTEGER NOT NULL DEFAULT 0,  -- consecutive failed attempts
    disabled_at     BIGINT,                      -- set when it was turned off after failures
    disabled_reason TEXT,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX outgoing_hooks_by_room ON outgoing_hooks (room_id);
CREATE INDEX outgoing_hooks_by_bot ON outgoing_hooks (bot_id);

CREATE TABLE outgoing_queue (
    hook_id  TEXT NOT NULL,
    pos      BIGINT NOT NULL,     -- the event's position in the log
    attempts INTEGER NOT NULL DEFAULT 0,
    first_at BIGINT NOT NULL,     -- enqueued (ms): retried until first_at + the retry window
    next_at  BIGINT NOT NULL,     -- not sent before this (ms)
    PRIMARY KEY (hook_id, pos)
);

CREATE TABLE outgoing_deliveries (
    id         TEXT PRIMARY KEY,
    hook_id    TEXT NOT NULL,
    pos        BIGINT NOT NULL,
    attempt    INTEGER NOT NULL,
    at         BIGINT NOT NULL,
    status     INTEGER,           -- the answer's HTTP status; NULL when none came
    latency_ms INTEGER,
    error      TEXT,              -- what went wrong; never the event's or the answer's text
    outcome    TEXT NOT NULL      -- delivered | retry | failed | dropped
);
CREATE INDEX outgoing_deliveries_by_hook ON outgoing_deliveries (hook_id, at);

CREATE TABLE slash_commands (
    name        TEXT PRIMARY KEY,  -- without the slash, lower case
    url         TEXT NOT NULL,
    description TEXT NOT NULL,
    secret      TEXT NOT NULL,     -- the signing key; shown once
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE command_responses (
    token_hash TEXT PRIMARY KEY,   -- sha256 of the response_url's secret
    command    TEXT NOT NULL,
    user_id    TEXT NOT NULL,      -- who ran it (ephemeral answers go to them)
    room_id    TEXT NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL
);
