-- Notifications (#18): a member's level and mute per room, and each user's preferences.

-- all | mentions | none; NULL: the default (DMs all, rooms the server's HUBBUB_NOTIFY_DEFAULT).
ALTER TABLE members ADD COLUMN notify_level TEXT;
-- ms since the epoch: nothing from this room notifies before then (NULL: not muted).
ALTER TABLE members ADD COLUMN notify_muted_until BIGINT;

-- One row per user who changed a preference; no row: the defaults.
CREATE TABLE notify_prefs (
    user_id      TEXT PRIMARY KEY REFERENCES users (id),
    dnd_until    BIGINT,                        -- do not disturb before then (ms; NULL: off)
    email        TEXT NOT NULL DEFAULT 'off',   -- off | digest
    push_preview BOOLEAN NOT NULL DEFAULT TRUE  -- whether a notification may show the text
);

-- Who chose `all`: the only members a plain message in a room can notify when the server's
-- default is not `all` (store/notifications.py), found without reading the others.
CREATE INDEX members_notify_all ON members (room_id) WHERE notify_level = 'all';
