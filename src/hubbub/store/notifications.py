"""Notification settings (#18): members' levels and mutes, users' preferences, and the one
query that finds who a stored message notifies."""

from __future__ import annotations

from typing import Literal

from hubbub.models import NotifyLevel, NotifyPrefs
from hubbub.store.engine import Tx

__all__ = ["Reason", "find_prefs", "list_recipients", "put_prefs", "set_member_level"]

# Why a message notifies someone (the first that applies, in this order).
Reason = Literal["mention", "thread", "dm", "message"]


def set_member_level(
    tx: Tx, room_id: str, user_id: str, level: NotifyLevel | None, muted_until: int | None
) -> bool:
    """Set a member's level (None: the default) and mute; False if they are not a member."""
    return (
        tx.execute(
            "UPDATE members SET notify_level = :l, notify_muted_until = :m"
            " WHERE room_id = :r AND user_id = :u",
            {"l": level, "m": muted_until, "r": room_id, "u": user_id},
        )
        > 0
    )


def find_prefs(tx: Tx, user_id: str) -> NotifyPrefs:
    """The user's preferences, or the defaults if they never chose."""
    row = tx.fetchone(
        "SELECT dnd_until, email, push_preview FROM notify_prefs WHERE user_id = :u",
        {"u": user_id},
    )
    if row is None:
        return NotifyPrefs()
    return NotifyPrefs(
        dnd_until=None if row[0] is None else int(row[0]), email=row[1], push_preview=bool(row[2])
    )


def put_prefs(tx: Tx, user_id: str, prefs: NotifyPrefs) -> None:
    """Replace the user's preferences (idempotent)."""
    params = {"u": user_id, "d": prefs.dnd_until, "e": prefs.email, "p": prefs.push_preview}
    updated = tx.execute(
        "UPDATE notify_prefs SET dnd_until = :d, email = :e, push_preview = :p WHERE user_id = :u",
        params,
    )
    if not updated:
        tx.execute(
            "INSERT INTO notify_prefs (user_id, dnd_until, email, push_preview)"
            " VALUES (:u, :d, :e, :p)",
            params,
        )


def list_recipients(
    tx: Tx, message_id: str, now_ms: int, server_default: NotifyLevel
) -> list[tuple[str, Reason]]:
    """Who the message notifies, with why, by user id (see services/notifications.py for the
    rule). One query: the candidates are only those a level `all`, a mention or a followed
    thread names, so a plain message in a big room where nobody chose `all` reads the
    partial index members_notify_all and no member rows."""
    msg = tx.fetchone(
        "SELECT m.room_id, m.author_id, m.thread_root, m.also_to_room, m.mention_room,"
        " m.deleted, r.kind FROM messages m JOIN rooms r ON r.id = m.room_id WHERE m.id = :id",
        {"id": message_id},
    )
    if msg is None or msg[5]:
        return []
    room_id, author_id, root, also_to_room, mention_room, _, kind = msg
    default = "all" if kind == "dm" else server_default
    in_timeline = root is None or bool(also_to_room)
    params: dict[str, object] = {
        "room": room_id,
        "mid": message_id,
        "now": now_ms,
        "dflt": default,
        "root": root or "",
    }
    candidates = ["SELECT user_id FROM message_mentions WHERE message_id = :mid"]
    if mention_room or (in_timeline and default == "all"):
        candidates.append("SELECT user_id FROM members WHERE room_id = :room")
    elif in_timeline:
        candidates.append(
            "SELECT user_id FROM members WHERE room_id = :room AND notify_level = 'all'"
        )
    if root is not None:
        candidates.append("SELECT user_id FROM thread_follows WHERE root_id = :root")
    mentioned = (
        "TRUE"
        if mention_room
        else "EXISTS (SELECT 1 FROM message_mentions mm"
        " WHERE mm.message_id = :mid AND mm.user_id = m.user_id)"
    )
    followed = (
        "EXISTS (SELECT 1 FROM thread_follows f WHERE f.root_id = :root AND f.user_id = m.user_id)"
        if root is not None
        else "FALSE"
    )
    level = "COALESCE(m.notify_level, :dflt)"
    not_author = ""
    if author_id is not None:
        not_author = " AND m.user_id <> :author"
        params["author"] = author_id
    rows = tx.fetchall(
        f"SELECT m.user_id, CASE WHEN {mentioned} THEN 'mention' WHEN {followed} THEN 'thread'"
        f" WHEN :kind = 'dm' THEN 'dm' ELSE 'message' END"
        " FROM members m JOIN users u ON u.id = m.user_id"
        " LEFT JOIN notify_prefs p ON p.user_id = m.user_id"
        f" WHERE m.room_id = :room AND m.user_id IN ({' UNION '.join(candidates)}){not_author}"
        " AND u.kind <> 'bot'"
        " AND (m.notify_muted_until IS NULL OR m.notify_muted_until <= :now)"
        " AND (p.dnd_until IS NULL OR p.dnd_until <= :now)"
        f" AND {level} <> 'none'"
        f" AND (({level} = 'all' AND {'TRUE' if in_timeline else 'FALSE'})"
        f" OR {mentioned} OR {followed})"
        " ORDER BY m.user_id",
        {**params, "kind": kind},
    )
    return [(r[0], r[1]) for r in rows]
