-- Web Push (#18): the browsers' push subscriptions, and the queue of pushes to send.
-- The VAPID key pair is not here: it is a row of `meta` (vapid_private_key), made at the
-- first start and the same for every node.
-- rolling: yes (new tables only; the previous release never reads them)

-- A browser's PushSubscription, made by one session: it goes when the session ends
-- (sign-out, revocation, password change, account deletion), by the cascade.
CREATE TABLE push_subscriptions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    session_id TEXT NOT NULL REFERENCES auth_tokens (id) ON DELETE CASCADE,
    endpoint   TEXT NOT NULL,            -- the push service's URL for this browser
    p256dh     TEXT NOT NULL,            -- the browser's P-256 public key, base64url
    auth       TEXT NOT NULL,            -- its 16-byte authentication secret, base64url
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, endpoint)
);
CREATE INDEX push_subscriptions_by_session ON push_subscriptions (session_id);

-- One row per (message, subscription) still to push: enqueued by the `push` log consumer in
-- the transaction that moves its place (so exactly once), removed when sent, dropped or
-- given up. Ids only, never text (the redaction rule: the text is read when sending, so a
-- message deleted meanwhile sends nothing).
CREATE TABLE push_queue (
    message_id      TEXT NOT NULL,       -- no foreign key: retention may erase the message
    subscription_id TEXT NOT NULL REFERENCES push_subscriptions (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL,
    reason          TEXT NOT NULL,       -- mention | thread | dm | message
    created_at      BIGINT NOT NULL,     -- when the message was committed (ms)
    due_at          BIGINT NOT NULL,     -- not to be looked at before then (ms)
    attempts        INTEGER NOT NULL DEFAULT 0,
    claimed_by      TEXT,                -- the node sending it now
    claimed_until   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (message_id, subscription_id)
);
CREATE INDEX push_queue_by_due ON push_queue (due_at);
CREATE INDEX push_queue_by_subscription ON push_queue (subscription_id);
