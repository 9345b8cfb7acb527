-- Running a community: server admins and deactivated accounts, mutes and bans in rooms,
-- invites, password-reset links, the audit log, and events every signed-in user receives.

ALTER TABLE users ADD COLUMN is_admin BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN deactivated_at BIGINT;      -- NULL: active

ALTER TABLE members ADD COLUMN muted BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE bans (
    room_id    TEXT NOT NULL REFERENCES rooms (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    banned_by  TEXT REFERENCES users (id),
    reason     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX bans_by_user ON bans (user_id);

CREATE TABLE invites (
    code       TEXT PRIMARY KEY,             -- shown to its maker and to admins, like a link
    created_by TEXT REFERENCES users (id),   -- NULL: made on the command line
    max_uses   INTEGER NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX invites_by_maker ON invites (created_by, created_at);

CREATE TABLE password_resets (
    code_hash  TEXT PRIMARY KEY,             -- sha256 of the code; the code is never stored
    user_id    TEXT NOT NULL REFERENCES users (id),
    expires_at BIGINT NOT NULL,
    used       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX password_resets_by_user ON password_resets (user_id);

CREATE TABLE audit_log (
    id       TEXT PRIMARY KEY,               -- time-ordered (ids.new_id): the page cursor
    at       BIGINT NOT NULL,
    actor_id TEXT,                           -- NULL: the command line
    action   TEXT NOT NULL,
    target   TEXT NOT NULL DEFAULT '',
    reason   TEXT NOT NULL DEFAULT ''
);

-- Events for every signed-in user (a new public room), whatever rooms they are in.
ALTER TABLE events ADD COLUMN everyone BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX events_for_everyone ON events (everyone, pos);
