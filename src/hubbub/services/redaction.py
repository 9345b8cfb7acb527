"""Redaction: when a message is deleted, edited or pruned, every stored copy of its old content
goes in the same transaction (the rule in docs/architecture.md, "Deleted means deleted").

The copies today: the `messages` row and its reactions (the store's own delete), the event
log (each earlier event of the message, found by its indexed `message_id`, is rewritten in
place at its position), stored idempotent answers, and the author's data export (discarded).
A feature that keeps another copy of message text adds its redactor here, and
tests/api/test_redaction.py finds the text if it does not. (The search index is kept by
store/messages.py itself, in the same functions that write the text: see store/search.py.)
"""

from __future__ import annotations

from dataclasses import replace

from hubbub.events import (
    DurableEvent,
    MessageCreated,
    MessageDeleted,
    MessageUpdated,
)
from hubbub.models import Message
from hubbub.store import Tx
from hubbub.store import events as events_q
from hubbub.store import exports as exports_q
from hubbub.store import files as files_q
from hubbub.store import idempotency as idem_q

__all__ = ["redact_deleted", "redact_edited", "redact_pruned", "tombstone"]


def tombstone(message: Message) -> Message:
    """A deleted message as everyone sees it: its place (id, seq, author, time), no content."""
    return replace(message, text="", deleted=True, reactions=(), cards=(), attachments=())


def redact_deleted(tx: Tx, message: Message) -> None:
    """After `message` is tombstoned: its earlier events become the tombstone's creation and,
    for edits and reactions, `message.deleted` (a client replaying them ends where the
    `message.deleted` that follows leaves it, and learns nothing of what was there), and
    stored answers become the tombstone."""
    dead = tombstone(message)
    gone = MessageDeleted(message.id, message.room_id, message.seq)
    for event in events_q.message_events(tx, message.id):
        body: DurableEvent
        if isinstance(event.body, MessageCreated):
            body = MessageCreated(tombstone(event.body.message))
        elif isinstance(event.body, MessageDeleted):
            continue
        else:
            body = gone
        events_q.replace_event(tx, event.pos, body)
    idem_q.rewrite_answers_for(tx, dead)
    _discard_export(tx, message)
    # Its files: the rows now, the bytes right after the commit (services/files.py reaps).
    files_q.doom_message_files(tx, message.id)


def redact_edited(tx: Tx, message: Message) -> None:
    """After `message`'s text was replaced: its earlier events carry the new text (so the old
    one is nowhere), and so do stored answers."""
    assert message.edited_at is not None
    for event in events_q.message_events(tx, message.id):
        body = event.body
        if isinstance(body, MessageCreated):
            created = replace(
                body.message,
                text=message.text,
                edited_at=message.edited_at,
                mentions=message.mentions,
            )
            events_q.replace_event(tx, event.pos, MessageCreated(created))
        elif isinstance(body, MessageUpdated) and (
            body.text != message.text or body.mentions != message.mentions
        ):
            current = replace(body, text=message.text, mentions=message.mentions)
            events_q.replace_event(tx, event.pos, current)
    idem_q.rewrite_answers_for(tx, replace(message, reactions=()))
    _discard_export(tx, message)


def redact_pruned(tx: Tx, message: Message) -> None:
    """Before retention removes `message` for good: as a delete, and its stored answers go."""
    redact_deleted(tx, message)
    idem_q.delete_answers_for(tx, message.id)


def _discard_export(tx: Tx, message: Message) -> None:
    """The author's data export holds the old text: it goes (they can ask for a new one)."""
    if message.author.id is not None:
        exports_q.discard(tx, message.author.id)
