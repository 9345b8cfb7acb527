-- Account deletion and data export.

-- A deleted account keeps its row (its messages point at it) and its username_key (the
-- username stays reserved); everything personal goes (services/erasure.py).
ALTER TABLE users ADD COLUMN deleted_at BIGINT;      -- NULL: not deleted

-- The rest of a deletion, done in bounded batches after the request (and resumed by the
-- upkeep after a crash): the account's messages (erased, or re-attributed in the event log),
-- then the events that name the account.
CREATE TABLE erasures (
    user_id        TEXT PRIMARY KEY REFERENCES users (id),
    erase_messages BOOLEAN NOT NULL,
    phase          TEXT NOT NULL,          -- messages | events
    done_upto      TEXT NOT NULL DEFAULT '', -- the last message id / event position done
    requested_at   BIGINT NOT NULL
);

-- One export per account: requested, then built off the request path into chunks.
CREATE TABLE exports (
    user_id      TEXT PRIMARY KEY REFERENCES users (id),
    status       TEXT NOT NULL,            -- pending | building | ready
    requested_at BIGINT NOT NULL,
    claimed_at   BIGINT,                   -- when a node began building it
    ready_at     BIGINT,
    expires_at   BIGINT,
    size         BIGINT
);

CREATE TABLE export_chunks (
    user_id TEXT NOT NULL REFERENCES users (id),
    n       INTEGER NOT NULL,
    data    BYTEA NOT NULL,
    PRIMARY KEY (user_id, n)
);

-- Erasure walks an account's messages in id order.
CREATE INDEX messages_by_author ON messages (author_id, id);
