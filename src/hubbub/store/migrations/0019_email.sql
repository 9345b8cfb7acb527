-- Missed-message email (#18): each user's address and whether it is confirmed, the
-- confirmation links (by hash), the queue of DMs and mentions waiting for a digest (ids only:
-- the text is read when the mail is made, so a deleted message is never mailed), and per
-- user the state of a digest being sent or retried.
-- rolling: yes (new columns with defaults and new tables; the previous release ignores them)

ALTER TABLE users ADD COLUMN email TEXT;             -- NULL: none
ALTER TABLE users ADD COLUMN email_confirmed BOOLEAN NOT NULL DEFAULT FALSE;

-- A confirmation link: SHA-256 of its random token; used once, before expires_at (ms).
CREATE TABLE email_confirmations (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    email      TEXT NOT NULL,                       -- the address it confirms
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX email_confirmations_by_user ON email_confirmations (user_id);

-- A DM or mention to mail a user about if it is still unread when their digest goes out.
CREATE TABLE email_queue (
    user_id    TEXT NOT NULL REFERENCES users (id),
    message_id TEXT NOT NULL,
    queued_at  BIGINT NOT NULL,                     -- when the message was stored (ms)
    PRIMARY KEY (user_id, message_id)
);
CREATE INDEX email_queue_by_message ON email_queue (message_id);

-- A user's digest being sent (held by one node until hold_until) or waiting to be retried
-- (after a failed attempt, not before next_try_at). No row: nothing in flight.
CREATE TABLE email_sends (
    user_id     TEXT PRIMARY KEY REFERENCES users (id),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try_at BIGINT NOT NULL DEFAULT 0,
    holder      TEXT,
    hold_until  BIGINT NOT NULL DEFAULT 0
);
