-- Rich conversations: mentions (and the counts they feed), threads, pins.

ALTER TABLE messages ADD COLUMN mention_room BOOLEAN NOT NULL DEFAULT FALSE;  -- @room
ALTER TABLE messages ADD COLUMN mention_here BOOLEAN NOT NULL DEFAULT FALSE;  -- @here
ALTER TABLE messages ADD COLUMN thread_root TEXT;            -- a reply in that message's thread
ALTER TABLE messages ADD COLUMN also_to_room BOOLEAN NOT NULL DEFAULT FALSE;  -- shown in the room too
ALTER TABLE messages ADD COLUMN reply_count INTEGER NOT NULL DEFAULT 0;       -- a root's live replies
ALTER TABLE messages ADD COLUMN last_reply_at BIGINT;
ALTER TABLE messages ADD COLUMN pinned_at BIGINT;
ALTER TABLE messages ADD COLUMN pinned_by TEXT;
CREATE INDEX messages_by_thread ON messages (thread_root, seq) WHERE thread_root IS NOT NULL;
CREATE INDEX messages_pinned ON messages (room_id, pinned_at) WHERE pinned_at IS NOT NULL;

-- Who a message mentions: `user` for @username (members only), `here` for the members
-- connected when it was sent with @here. (@room is the messages.mention_room flag.)
CREATE TABLE message_mentions (
    message_id TEXT NOT NULL REFERENCES messages (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    room_id    TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    kind       TEXT NOT NULL,            -- user | here
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX mentions_by_user ON message_mentions (user_id, room_id, seq);

-- A thread's participants (repliers), in order of their first reply.
CREATE TABLE thread_participants (
    root_id  TEXT NOT NULL REFERENCES messages (id),
    user_id  TEXT NOT NULL REFERENCES users (id),
    first_at BIGINT NOT NULL,
    PRIMARY KEY (root_id, user_id)
);

-- Who follows a thread, and how far they have read it (a room seq).
CREATE TABLE thread_follows (
    root_id       TEXT NOT NULL REFERENCES messages (id),
    user_id       TEXT NOT NULL REFERENCES users (id),
    room_id       TEXT NOT NULL,
    last_read_seq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (root_id, user_id)
);
CREATE INDEX thread_follows_by_user ON thread_follows (user_id);

ALTER TABLE rooms ADD COLUMN members_can_pin BOOLEAN NOT NULL DEFAULT FALSE;
