-- hubbub schema v1: accounts, rooms, membership, messages, reactions, idempotency keys.
-- Portable SQL: runs unchanged on SQLite (>= 3.35) and PostgreSQL (>= 13).
-- Times are integer milliseconds since the Unix epoch (UTC).

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    username_key  TEXT NOT NULL UNIQUE,   -- casefolded username: uniqueness ignores case
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE auth_tokens (
    token_hash TEXT PRIMARY KEY,          -- sha256 of the bearer token; the token is never stored
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX auth_tokens_by_user ON auth_tokens (user_id);

CREATE TABLE rooms (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    topic      TEXT NOT NULL DEFAULT '',
    visibility TEXT NOT NULL,            -- public | private
    kind       TEXT NOT NULL,            -- room | dm
    dm_key     TEXT UNIQUE,              -- "<user id>:<user id>" sorted, for kind = dm
    created_at BIGINT NOT NULL,
    last_seq   BIGINT NOT NULL DEFAULT 0, -- seq of the newest message: assigned under this row's lock
    last_ts    BIGINT NOT NULL DEFAULT 0  -- created_at of the newest message: timestamps never go back
);

CREATE TABLE members (
    room_id       TEXT NOT NULL REFERENCES rooms (id),
    user_id       TEXT NOT NULL REFERENCES users (id),
    role          TEXT NOT NULL,         -- owner | admin | member
    last_read_seq BIGINT NOT NULL DEFAULT 0,
    joined_at     BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX members_by_user ON members (user_id);

CREATE TABLE messages (
    id         TEXT PRIMARY KEY,
    room_id    TEXT NOT NULL REFERENCES rooms (id),
    seq        BIGINT NOT NULL,
    author_id  TEXT REFERENCES users (id), -- NULL for a guest (classic API) author
    guest_name TEXT,
    text       TEXT NOT NULL,
    reply_to   TEXT,
    created_at BIGINT NOT NULL,
    edited_at  BIGINT,
    deleted    BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (room_id, seq)
);

CREATE TABLE reactions (
    message_id TEXT NOT NULL REFERENCES messages (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    emoji      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);

-- Who has posted in a room, in order of first post (the classic GET /users).
CREATE TABLE posters (
    room_id   TEXT NOT NULL REFERENCES rooms (id),
    name      TEXT NOT NULL,
    first_seq BIGINT NOT NULL,
    PRIMARY KEY (room_id, name)
);
CREATE INDEX posters_by_first_seq ON posters (room_id, first_seq);

CREATE TABLE idempotency_keys (
    user_id      TEXT NOT NULL REFERENCES users (id),
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
