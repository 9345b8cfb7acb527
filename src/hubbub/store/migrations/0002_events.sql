-- Durable events: the single ordered log every real-time transport reads from.
--
-- `pos` comes from the one row of event_counter, updated inside the transaction that writes the
-- events. That row's lock is held until commit, so positions are gapless and committed in
-- order on every engine: whoever sees position N committed knows 1..N-1 are committed too.

CREATE TABLE event_counter (
    id  INTEGER PRIMARY KEY,
    pos BIGINT NOT NULL
);
INSERT INTO event_counter (id, pos) VALUES (1, 0);

CREATE TABLE events (
    pos      BIGINT PRIMARY KEY,
    type     TEXT NOT NULL,
    room_id  TEXT NOT NULL,
    ts       BIGINT NOT NULL,
    subject  TEXT,                       -- the user a member.*/read.* event is about
    private  BOOLEAN NOT NULL DEFAULT FALSE, -- delivered to the subject only (read.updated)
    data     TEXT NOT NULL               -- JSON
);
CREATE INDEX events_by_room ON events (room_id, pos);
CREATE INDEX events_by_subject ON events (subject, pos);

-- Facts about this deployment (its id goes into every cursor).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
