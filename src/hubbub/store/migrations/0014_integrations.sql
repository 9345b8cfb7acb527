-- Integrations: bot accounts (users.kind), and Slack-compatible incoming webhooks that post
-- into a room as their own bot, with per-message sender names and Slack attachments as cards.

ALTER TABLE users ADD COLUMN kind TEXT NOT NULL DEFAULT 'user';  -- user | bot
ALTER TABLE users ADD COLUMN owner_id TEXT;                        -- a bot's creator
ALTER TABLE messages ADD COLUMN sender_name TEXT;  -- an integration's name for this message
ALTER TABLE messages ADD COLUMN cards TEXT;        -- JSON list of cards (Slack attachments)

CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    room_id     TEXT NOT NULL REFERENCES rooms (id),
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,      -- sha256 of the URL's secret; the secret is never stored
    bot_id      TEXT NOT NULL REFERENCES users (id),  -- the bot account it posts as
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX webhooks_by_room ON webhooks (room_id);
