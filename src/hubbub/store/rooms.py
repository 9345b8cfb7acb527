"""Room and membership queries."""

from __future__ import annotations

from hubbub.models import Member, Role, Room, RoomAccess
from hubbub.store.engine import Row, Tx
from hubbub.store.messages import MENTIONS_ME, UNREAD
from hubbub.store.patterns import ESCAPE, prefix_pattern
from hubbub.store.users import USER_COLUMNS, user_from_row

__all__ = [
    "delete_member",
    "find_access",
    "find_dm",
    "find_member",
    "find_member_role",
    "find_room",
    "find_successor",
    "insert_room",
    "list_all_rooms",
    "list_members",
    "list_memberships",
    "list_public_rooms",
    "list_retention",
    "list_room_ids_of",
    "list_rooms_of",
    "list_sharing_a_room",
    "member_count",
    "pruned_seq",
    "set_members_can_pin",
    "set_muted",
    "set_read",
    "set_retention",
    "update_room",
    "upsert_member",
]

# Room columns plus member_count; the viewer's fields are added by the caller when they apply.
_COLUMNS = (
    "r.id, r.name, r.topic, r.visibility, r.kind, r.created_at, r.last_seq,"
    " (SELECT COUNT(*) FROM members c WHERE c.room_id = r.id), r.retention_days,"
    " r.members_can_pin, r.avatar"
)
# The viewer's membership, unread and mention counts, as extra columns (NULL for a
# non-member). The counting rules are store/messages.py's UNREAD and MENTIONS_ME.
_MINE = (
    ", me.role, me.last_read_seq,"
    " CASE WHEN me.role IS NULL THEN NULL ELSE (SELECT COUNT(*) FROM messages x"
    f" WHERE x.room_id = r.id AND x.seq > me.last_read_seq AND {UNREAD}) END,"
    " CASE WHEN me.role IS NULL THEN NULL ELSE (SELECT COUNT(*) FROM messages x"
    f" WHERE x.room_id = r.id AND x.seq > me.last_read_seq AND {MENTIONS_ME}) END,"
    # notifications (#18): the member's level (a DM's default "all"), mute
    " COALESCE(me.notify_level, CASE WHEN r.kind = 'dm' THEN 'all' END), me.notify_muted_until"
)
_JOIN_MINE = " LEFT JOIN members me ON me.room_id = r.id AND me.user_id = :me"


def _room(row: Row) -> Room:
    role = row[11] if len(row) > 11 else None
    return Room(
        id=row[0],
        name=row[1],
        topic=row[2],
        visibility=row[3],
        kind=row[4],
        created_at=int(row[5]),
        last_seq=int(row[6]),
        member_count=int(row[7]),
        retention_days=None if row[8] is None else int(row[8]),
        members_can_pin=bool(row[9]),
        avatar=row[10],
        my_role=role,
        last_read_seq=None if role is None else int(row[12]),
        unread_count=None if role is None else int(row[13]),
        mention_count=None if role is None else int(row[14]),
        notification_level=None if role is None else row[15],
        notifications_muted_until=None if role is None or row[16] is None else int(row[16]),
    )


def insert_room(tx: Tx, room: Room, dm_key: str | None = None) -> bool:
    """Insert; return False if a room with that dm_key already exists."""
    return (
        tx.execute(
            "INSERT INTO rooms (id, name, topic, visibility, kind, dm_key, created_at)"
            " VALUES (:id, :name, :topic, :vis, :kind, :dm, :at) ON CONFLICT DO NOTHING",
            {
                "id": room.id,
                "name": room.name,
                "topic": room.topic,
                "vis": room.visibility,
                "kind": room.kind,
                "dm": dm_key,
                "at": room.created_at,
            },
        )
        > 0
    )


def find_room(tx: Tx, room_id: str, me: str) -> Room | None:
    """The room as `me` sees it (my_role etc. set if `me` is a member), or None."""
    row = tx.fetchone(
        f"SELECT {_COLUMNS}{_MINE} FROM rooms r{_JOIN_MINE} WHERE r.id = :id",
        {"id": room_id, "me": me},
    )
    return None if row is None else _room(row)


def find_access(tx: Tx, room_id: str, me: str) -> RoomAccess | None:
    """The room's kind, visibility and last seq, and `me`'s role, read marker, mute and ban:
    one indexed lookup, for access checks on hot paths (no member or unread counts)."""
    row = tx.fetchone(
        "SELECT r.id, r.visibility, r.kind, r.last_seq, me.role, me.last_read_seq, me.muted,"
        " b.user_id, r.pruned_seq, r.members_can_pin"
        f" FROM rooms r{_JOIN_MINE}"
        " LEFT JOIN bans b ON b.room_id = r.id AND b.user_id = :me WHERE r.id = :id",
        {"id": room_id, "me": me},
    )
    if row is None:
        return None
    return RoomAccess(
        id=row[0],
        visibility=row[1],
        kind=row[2],
        last_seq=int(row[3]),
        my_role=row[4],
        last_read_seq=None if row[5] is None else int(row[5]),
        muted=bool(row[6]),
        banned=row[7] is not None,
        pruned_seq=int(row[8]),
        members_can_pin=bool(row[9]),
    )


def find_dm(tx: Tx, dm_key: str, me: str) -> Room | None:
    row = tx.fetchone(
        f"SELECT {_COLUMNS}{_MINE} FROM rooms r{_JOIN_MINE} WHERE r.dm_key = :key",
        {"key": dm_key, "me": me},
    )
    return None if row is None else _room(row)


def list_rooms_of(tx: Tx, me: str) -> list[Room]:
    """Rooms `me` is a member of, most recent message first (then newest room)."""
    rows = tx.fetchall(
        f"SELECT {_COLUMNS}{_MINE} FROM rooms r JOIN members me"
        " ON me.room_id = r.id AND me.user_id = :me ORDER BY r.last_ts DESC, r.created_at DESC",
        {"me": me},
    )
    return [_room(r) for r in rows]


def list_public_rooms(
    tx: Tx, me: str, prefix: str, after: tuple[str, str] | None, limit: int
) -> list[Room]:
    """Public rooms `me` is not in and can join (not banned from), by name then id, whose
    name starts with `prefix` (ignoring ASCII case), after the (name, id) `after`; at most
    `limit`."""
    params: dict[str, object] = {"me": me, "p": prefix_pattern(prefix), "limit": limit}
    page = ""
    if after is not None:
        page = " AND (r.name > :after_name OR (r.name = :after_name AND r.id > :after_id))"
        params.update(after_name=after[0], after_id=after[1])
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM rooms r WHERE r.visibility = 'public' AND r.kind = 'room'"
        f" AND LOWER(r.name) LIKE :p {ESCAPE}"
        f"{page}"
        " AND NOT EXISTS (SELECT 1 FROM members m WHERE m.room_id = r.id AND m.user_id = :me)"
        " AND NOT EXISTS (SELECT 1 FROM bans b WHERE b.room_id = r.id AND b.user_id = :me)"
        " ORDER BY r.name, r.id LIMIT :limit",
        params,
    )
    return [_room(r) for r in rows]


def update_room(tx: Tx, room_id: str, name: str | None, topic: str | None) -> None:
    if name is not None:
        tx.execute("UPDATE rooms SET name = :v WHERE id = :id", {"v": name, "id": room_id})
    if topic is not None:
        tx.execute("UPDATE rooms SET topic = :v WHERE id = :id", {"v": topic, "id": room_id})


def list_memberships(tx: Tx, user_id: str) -> list[tuple[str, Role, str]]:
    """(room id, role, kind) of every room `user_id` is in."""
    rows = tx.fetchall(
        "SELECT m.room_id, m.role, r.kind FROM members m JOIN rooms r ON r.id = m.room_id"
        " WHERE m.user_id = :u ORDER BY m.room_id",
        {"u": user_id},
    )
    return [(r[0], r[1], r[2]) for r in rows]


def list_retention(tx: Tx, *, with_default: bool) -> list[tuple[str, int | None]]:
    """(room id, retention_days) of the rooms whose messages expire: those with their own
    retention_days, and with `with_default` (the server has a retention) every room."""
    rows = tx.fetchall(
        "SELECT id, retention_days FROM rooms"
        + ("" if with_default else " WHERE retention_days IS NOT NULL")
    )
    return [(r[0], None if r[1] is None else int(r[1])) for r in rows]


def pruned_seq(tx: Tx, room_id: str) -> int | None:
    """The highest seq retention erased in the room (None: no such room)."""
    row = tx.fetchone("SELECT pruned_seq FROM rooms WHERE id = :id", {"id": room_id})
    return None if row is None else int(row[0])


def member_count(tx: Tx, room_id: str) -> int:
    row = tx.fetchone("SELECT COUNT(*) FROM members WHERE room_id = :r", {"r": room_id})
    return int(row[0]) if row else 0


def set_members_can_pin(tx: Tx, room_id: str, allowed: bool) -> None:
    tx.execute(
        "UPDATE rooms SET members_can_pin = :a WHERE id = :id", {"a": allowed, "id": room_id}
    )


def set_retention(tx: Tx, room_id: str, days: int | None) -> None:
    tx.execute("UPDATE rooms SET retention_days = :d WHERE id = :id", {"d": days, "id": room_id})


def find_member_role(tx: Tx, room_id: str, user_id: str) -> Role | None:
    row = tx.fetchone(
        "SELECT role FROM members WHERE room_id = :r AND user_id = :u", {"r": room_id, "u": user_id}
    )
    return None if row is None else row[0]


def upsert_member(
    tx: Tx, room_id: str, user_id: str, role: Role, now_ms: int, start_read_seq: int = 0
) -> bool:
    """Add the member, or set the role of an existing one; return True if newly added."""
    updated = tx.execute(
        "UPDATE members SET role = :role WHERE room_id = :r AND user_id = :u",
        {"role": role, "r": room_id, "u": user_id},
    )
    if updated:
        return False
    tx.execute(
        "INSERT INTO members (room_id, user_id, role, last_read_seq, joined_at)"
        " VALUES (:r, :u, :role, :seq, :now)",
        {"r": room_id, "u": user_id, "role": role, "seq": start_read_seq, "now": now_ms},
    )
    return True


def delete_member(tx: Tx, room_id: str, user_id: str) -> bool:
    return (
        tx.execute(
            "DELETE FROM members WHERE room_id = :r AND user_id = :u", {"r": room_id, "u": user_id}
        )
        > 0
    )


_MEMBER = (
    f"SELECT m.role, m.joined_at, m.muted, {USER_COLUMNS}"
    " FROM members m JOIN users u ON u.id = m.user_id WHERE m.room_id = :r"
)


def _member(r: Row) -> Member:
    return Member(user_from_row(r[3:]), role=r[0], joined_at=int(r[1]), muted=bool(r[2]))


def list_members(tx: Tx, room_id: str) -> list[Member]:
    rows = tx.fetchall(
        f"{_MEMBER} ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END,"
        " u.username_key",
        {"r": room_id},
    )
    return [_member(r) for r in rows]


def find_member(tx: Tx, room_id: str, user_id: str) -> Member | None:
    row = tx.fetchone(f"{_MEMBER} AND m.user_id = :u", {"r": room_id, "u": user_id})
    return None if row is None else _member(row)


def list_room_ids_of(tx: Tx, user_id: str) -> list[str]:
    """The ids of the rooms `user_id` is a member of (no particular order)."""
    rows = tx.fetchall("SELECT room_id FROM members WHERE user_id = :u", {"u": user_id})
    return [r[0] for r in rows]


def find_successor(tx: Tx, room_id: str) -> tuple[str, Role] | None:
    """Who inherits a room from an owner who leaves: the member of the highest role (owner,
    then admin, then member) who joined first, never a bot; None for a room of none."""
    row = tx.fetchone(
        "SELECT m.user_id, m.role FROM members m JOIN users u ON u.id = m.user_id"
        " WHERE m.room_id = :r AND u.kind <> 'bot'"
        " ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, m.joined_at"
        " LIMIT 1",
        {"r": room_id},
    )
    return None if row is None else (row[0], row[1])


def set_read(tx: Tx, room_id: str, user_id: str, seq: int) -> int:
    """Move the read marker forward to `seq` (never back); return the marker now."""
    tx.execute(
        "UPDATE members SET last_read_seq = :seq"
        " WHERE room_id = :r AND user_id = :u AND last_read_seq < :seq",
        {"seq": seq, "r": room_id, "u": user_id},
    )
    row = tx.fetchone(
        "SELECT last_read_seq FROM members WHERE room_id = :r AND user_id = :u",
        {"r": room_id, "u": user_id},
    )
    return int(row[0]) if row else 0


def list_sharing_a_room(tx: Tx, user_id: str, others: list[str]) -> set[str]:
    """Those of `others` who are in at least one room (or DM) with `user_id`."""
    if not others:
        return set()
    names = {f"o{i}": other for i, other in enumerate(others)}
    rows = tx.fetchall(
        "SELECT DISTINCT theirs.user_id FROM members mine"
        " JOIN members theirs ON theirs.room_id = mine.room_id"
        f" WHERE mine.user_id = :me AND theirs.user_id IN ({', '.join(':' + n for n in names)})",
        {"me": user_id, **names},
    )
    return {r[0] for r in rows}


def set_muted(tx: Tx, room_id: str, user_id: str, muted: bool) -> None:
    tx.execute(
        "UPDATE members SET muted = :m WHERE room_id = :r AND user_id = :u",
        {"m": muted, "r": room_id, "u": user_id},
    )


def list_all_rooms(tx: Tx, after: tuple[str, str] | None, limit: int) -> list[Room]:
    """Every room and DM (for server admins: metadata only), by name then id."""
    params: dict[str, object] = {"limit": limit}
    page = ""
    if after is not None:
        page = " WHERE (r.name > :after_name OR (r.name = :after_name AND r.id > :after_id))"
        params.update(after_name=after[0], after_id=after[1])
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} FROM rooms r{page} ORDER BY r.name, r.id LIMIT :limit", params
    )
    return [_room(r) for r in rows]
