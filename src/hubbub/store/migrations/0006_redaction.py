"""Deletes that delete: every stored copy of a message findable by its id, and retention.

- `events.message_id`: the message a message.* or reaction.* event is about, indexed, so a
  delete or an edit rewrites exactly that message's earlier events (and nothing scans the log).
- `idempotency_keys.message_id`: likewise for stored answers.
- `rooms.retention_days` (NULL: the server's default) and `rooms.pruned_seq` (every seq up to
  it was removed by retention: history starts after it).
- `event_counter.floor`: every position up to it was pruned from the log; a cursor older than
  that cannot be resumed.
- `events.subject` for `user.updated` and `reaction.*` (the user they are about), so deleting
  an account finds every event that names it through the subject index.

The backfill reads the ids out of the JSON payloads with each engine's own JSON functions.
"""

from __future__ import annotations

from hubbub.store.engine import Tx

_IDS = {
    "sqlite": (
        "CASE type WHEN 'message.created' THEN json_extract(data, '$.message.id')"
        " WHEN 'message.updated' THEN json_extract(data, '$.id')"
        " WHEN 'message.deleted' THEN json_extract(data, '$.id')"
        " ELSE json_extract(data, '$.message_id') END",
        "json_extract(body, '$.message.id')",
        "CASE type WHEN 'user.updated' THEN json_extract(data, '$.user.id')"
        " ELSE json_extract(data, '$.user_id') END",
    ),
    "postgresql": (
        "CASE type WHEN 'message.created' THEN (data::jsonb) -> 'message' ->> 'id'"
        " WHEN 'message.updated' THEN (data::jsonb) ->> 'id'"
        " WHEN 'message.deleted' THEN (data::jsonb) ->> 'id'"
        " ELSE (data::jsonb) ->> 'message_id' END",
        "(body::jsonb) -> 'message' ->> 'id'",
        "CASE type WHEN 'user.updated' THEN (data::jsonb) -> 'user' ->> 'id'"
        " ELSE (data::jsonb) ->> 'user_id' END",
    ),
}


def upgrade(tx: Tx) -> None:
    tx.execute("ALTER TABLE events ADD COLUMN message_id TEXT")
    tx.execute("ALTER TABLE idempotency_keys ADD COLUMN message_id TEXT")
    tx.execute("ALTER TABLE rooms ADD COLUMN retention_days INTEGER")
    tx.execute("ALTER TABLE rooms ADD COLUMN pruned_seq BIGINT NOT NULL DEFAULT 0")
    tx.execute("ALTER TABLE event_counter ADD COLUMN floor BIGINT NOT NULL DEFAULT 0")
    event_id, answer_id, subject_id = _IDS[tx.dialect]
    tx.execute(
        f"UPDATE events SET message_id = {event_id} WHERE type IN ('message.created',"
        " 'message.updated', 'message.deleted', 'reaction.added', 'reaction.removed')"
    )
    tx.execute(f"UPDATE idempotency_keys SET message_id = {answer_id}")
    tx.execute(
        f"UPDATE events SET subject = {subject_id}"
        " WHERE type IN ('user.updated', 'reaction.added', 'reaction.removed')"
    )
    tx.execute(
        "CREATE INDEX events_by_message ON events (message_id, pos) WHERE message_id IS NOT NULL"
    )
    tx.execute("CREATE INDEX idempotency_keys_by_message ON idempotency_keys (message_id)")
    # Retention finds a room's oldest messages by time.
    tx.execute("CREATE INDEX messages_by_room_time ON messages (room_id, created_at)")
