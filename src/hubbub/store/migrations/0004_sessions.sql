-- Sessions get an id (so one can be named, listed and revoked without its token), and the
-- facts a sessions list shows. Existing sessions get an id derived from their token hash
-- (a one-way value already; the token itself was never stored).

ALTER TABLE auth_tokens ADD COLUMN id TEXT;
ALTER TABLE auth_tokens ADD COLUMN last_used_at BIGINT;
ALTER TABLE auth_tokens ADD COLUMN user_agent TEXT;
UPDATE auth_tokens SET id = 's_' || substr(token_hash, 1, 26), last_used_at = created_at;
CREATE UNIQUE INDEX auth_tokens_by_id ON auth_tokens (id);

-- One-time tickets for opening a stream without putting the long-lived token in a URL: made
-- by POST /api/v1/stream-tickets, good for one connection within seconds.
CREATE TABLE stream_tickets (
    ticket_hash TEXT PRIMARY KEY,          -- sha256 of the ticket; the ticket is never stored
    session_id  TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX stream_tickets_by_expiry ON stream_tickets (expires_at);
