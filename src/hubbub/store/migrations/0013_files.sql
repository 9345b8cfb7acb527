-- Files: uploads (attached to at most one message), the storage objects waiting to be
-- deleted after the transaction that doomed them, and avatars.

-- An uploaded file. `id` is also its storage key (and `id || '.thumb'` its thumbnail's).
-- Until `message_id` is set it is an orphan, removed after 24 h.
CREATE TABLE uploads (
    id            TEXT PRIMARY KEY,
    room_id       TEXT NOT NULL REFERENCES rooms (id),
    user_id       TEXT NOT NULL REFERENCES users (id),
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,            -- sniffed from the content, never the client's word
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    width         INTEGER,                  -- images only
    height        INTEGER,
    thumb_width   INTEGER,                  -- NULL: no thumbnail
    thumb_height  INTEGER,
    message_id    TEXT REFERENCES messages (id),
    position      INTEGER NOT NULL DEFAULT 0,  -- its place among the message's attachments
    created_at    BIGINT NOT NULL
);
CREATE INDEX uploads_by_message ON uploads (message_id);
CREATE INDEX uploads_by_user ON uploads (user_id);
CREATE INDEX uploads_orphaned ON uploads (created_at) WHERE message_id IS NULL;

-- Storage keys whose rows are gone: their bytes are deleted after the commit (at once, and
-- by the upkeep after a crash). Written in the transaction that deletes the row, so no
-- delete, retention sweep or erasure can leave bytes behind.
CREATE TABLE doomed_files (
    key TEXT PRIMARY KEY
);

-- Avatars: the storage key of the current picture (NULL: none).
ALTER TABLE users ADD COLUMN avatar TEXT;
ALTER TABLE rooms ADD COLUMN avatar TEXT;
