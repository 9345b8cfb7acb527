-- Log consumers (#18, #19): workers that act on the event log (Web Push, missed-message
-- email, outgoing webhooks) each keep their place in it here, and a lease, so that on a
-- cluster exactly one node runs each of them and a restart resumes where it stopped.
-- rolling: yes (a new table only; the previous release never reads it)

CREATE TABLE log_consumers (
    name        TEXT PRIMARY KEY,       -- e.g. 'push', 'email', 'webhook:<id>'
    pos         BIGINT NOT NULL,        -- every event up to here is handled
    holder      TEXT,                   -- the node holding the lease (NULL: none)
    lease_until BIGINT NOT NULL DEFAULT 0  -- ms since the epoch
);
