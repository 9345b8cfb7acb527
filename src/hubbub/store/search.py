"""The message search index: kept in step with `messages` in the same transaction, and queried.

Both engines index the tokens `hubbub.textsearch` makes (so they find the same messages):

- SQLite: `search_docs` (one row per indexed message: its integer doc id, room (and the
  room's number in `search_rooms`), author, time, has_link and its tokens) and
  `search_postings` (one row per distinct token of each message), read and written by
  store/postings.py.
- PostgreSQL: `search_docs` with a `tsvector` built from the same tokens and positions (no
  text-search parser runs, so nothing is split or stemmed differently) and a GIN index.

Only live messages are indexed. Every path that changes a message's text goes through
store/messages.py, which calls `index`/`unindex`/`unindex_range` here in its transaction (the
redaction rule, docs/architecture.md). On SQLite a removal is a few b-tree deletes (with
`secure_delete`, nothing of them stays in a live page), whatever the index's size.
"""

from __future__ import annotations

from dataclasses import dataclass

from hubbub.store import postings
from hubbub.store.engine import Tx
from hubbub.textsearch import Plan, Term, has_link, index_words

__all__ = [
    "BACKFILL_BATCH",
    "Entry",
    "backfill_batch",
    "index",
    "list_matching",
    "reindex",
    "restart_backfill",
    "unindex",
    "unindex_range",
]

BACKFILL_BATCH = 500
# has:file: the message has an attachment (uploads.message_id is indexed).
_HAS_FILE = "EXISTS (SELECT 1 FROM uploads f WHERE f.message_id = d.message_id)"
_MAX_POSITION = 16383  # PostgreSQL's largest tsvector position


def _quote_pg(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _tsvector(words: list[str]) -> str:
    return " ".join(f"{_quote_pg(w)}:{min(i + 1, _MAX_POSITION)}" for i, w in enumerate(words))


def _split(words: object) -> list[str]:
    return str(words).split(" ") if words else []


def _remove_docs(tx: Tx, where: str, params: dict[str, object]) -> None:
    """SQLite: remove the postings of the documents `where` selects (their rows in
    search_docs are the caller's to delete)."""
    rows = tx.fetchall(
        f"SELECT doc, room, created_at, words FROM search_docs WHERE {where}", params
    )
    for doc, room, at, words in rows:
        postings.remove(tx, int(doc), int(room), int(at), _split(words))


@dataclass(frozen=True, slots=True)
class Entry:
    """What the index keeps of a live message besides its words: enough to filter and order
    hits without reading `messages` (ids and times, never text)."""

    message_id: str
    room_id: str
    author_id: str | None
    created_at: int


def index(tx: Tx, entry: Entry, text: str) -> None:
    """Index a live message that is not in the index yet."""
    _index(tx, entry, text, None)


def _index(tx: Tx, entry: Entry, text: str, later: list[tuple[str, int, int, int]] | None) -> None:
    """`index`; on SQLite with `later`, its postings are appended there for the caller to add
    (postings.add_many) instead of added now."""
    words = index_words(text)
    params = {
        "m": entry.message_id,
        "r": entry.room_id,
        "a": entry.author_id,
        "t": entry.created_at,
        "l": has_link(text),
    }
    if tx.dialect == "sqlite":
        room = postings.room_number(tx, entry.room_id)
        found = tx.fetchone(
            "INSERT INTO search_docs (message_id, room_id, room, author_id, created_at,"
            " has_link, words) VALUES (:m, :r, :n, :a, :t, :l, :w) RETURNING doc",
            {**params, "n": room, "w": " ".join(words)},
        )
        assert found is not None
        doc = int(found[0])
        if later is None:
            postings.add(tx, doc, room, entry.created_at, words)
        else:
            later.extend((w, room, entry.created_at, doc) for w in set(words))
        return
    tx.execute(
        "INSERT INTO search_docs (message_id, room_id, author_id, created_at, has_link, words)"
        " VALUES (:m, :r, :a, :t, :l, CAST(:w AS tsvector))",
        {**params, "w": _tsvector(words)},
    )


def reindex(tx: Tx, message_id: str, text: str) -> None:
    """Replace what is indexed for an edited message by its new text (nothing if it is not
    indexed yet: the backfill will index its current text)."""
    words = index_words(text)
    link = has_link(text)
    if tx.dialect == "sqlite":
        row = tx.fetchone(
            "SELECT doc, room, created_at, words FROM search_docs WHERE message_id = :m",
            {"m": message_id},
        )
        if row is None:
            return
        doc, room, at = int(row[0]), int(row[1]), int(row[2])
        postings.replace(tx, doc, room, at, _split(row[3]), words)
        tx.execute(
            "UPDATE search_docs SET has_link = :l, words = :w WHERE doc = :d",
            {"l": link, "w": " ".join(words), "d": doc},
        )
        return
    tx.execute(
        "UPDATE search_docs SET has_link = :l, words = CAST(:w AS tsvector) WHERE message_id = :m",
        {"m": message_id, "l": link, "w": _tsvector(words)},
    )


def unindex(tx: Tx, message_id: str) -> None:
    """Remove a message from the index (deleted or erased). Idempotent."""
    if tx.dialect == "sqlite":
        _remove_docs(tx, "message_id = :m", {"m": message_id})
    tx.execute("DELETE FROM search_docs WHERE message_id = :m", {"m": message_id})


def unindex_range(tx: Tx, room_id: str, after_seq: int, upto_seq: int) -> None:
    """Remove the room's messages with after_seq < seq <= upto_seq from the index."""
    params = {"room": room_id, "after": after_seq, "upto": upto_seq}
    doomed = "(SELECT id FROM messages WHERE room_id = :room AND seq > :after AND seq <= :upto)"
    if tx.dialect == "sqlite":
        _remove_docs(tx, f"message_id IN {doomed}", params)
    tx.execute(f"DELETE FROM search_docs WHERE message_id IN {doomed}", params)


def backfill_batch(tx: Tx, limit: int = BACKFILL_BATCH) -> int:
    """Index the next `limit` live messages that existed before the index did, in id order,
    remembering how far it got (resumable; a message written since is indexed by its write,
    and left as it is). Return how many were looked at (0: done)."""
    row = tx.fetchone("SELECT backfill_after, backfill_done FROM search_state WHERE id = 1")
    if row is None:  # its row gone (emptied by hand): start over, as after the migration
        tx.execute("INSERT INTO search_state (id) VALUES (1)")
        row = ("", False)
    if row[1]:
        return 0
    # A message written since the migration is indexed already (by its write): leave it, so
    # the backfill never rewrites what a write indexed.
    rows = tx.fetchall(
        "SELECT m.id, m.room_id, m.author_id, m.created_at, m.text, m.deleted, d.message_id"
        " FROM messages m LEFT JOIN search_docs d ON d.message_id = m.id"
        " WHERE m.id > :after ORDER BY m.id LIMIT :n",
        {"after": row[0], "n": limit},
    )
    later: list[tuple[str, int, int, int]] = []
    for message_id, room_id, author_id, created_at, text, deleted, indexed in rows:
        if not deleted and indexed is None:
            _index(tx, Entry(message_id, room_id, author_id, int(created_at)), text, later)
    if tx.dialect == "sqlite":
        postings.add_many(tx, later)
    if rows:
        tx.execute("UPDATE search_state SET backfill_after = :a WHERE id = 1", {"a": rows[-1][0]})
    if len(rows) < limit:
        tx.execute("UPDATE search_state SET backfill_done = TRUE WHERE id = 1")
    return len(rows)


def restart_backfill(tx: Tx) -> None:
    """Forget the index and index every message again (after `hubbub copy-data`)."""
    if tx.dialect == "sqlite":
        tx.execute("DELETE FROM search_postings")
        tx.execute("DELETE FROM search_rooms")
    tx.execute("DELETE FROM search_docs")
    tx.execute("DELETE FROM search_state")  # backfill_batch starts over without its row


def _pg_term(term: Term) -> str:
    parts = [_quote_pg(w) for w in term.words]
    if term.prefix:
        parts[-1] += ":*"
    return "(" + " <-> ".join(parts) + ")"


def _matching(tx: Tx, terms: tuple[Term, ...], *, every: bool, name: str) -> tuple[str, str]:
    """PostgreSQL: a condition on `d` (search_docs) for the entries matching every (or any)
    of `terms`, and the tsquery for it (made of tokens only: user syntax never gets here)."""
    query = (" & " if every else " | ").join(_pg_term(t) for t in terms)
    return f"d.words @@ CAST(:{name} AS tsquery)", query


def list_matching(
    tx: Tx,
    plan: Plan,
    where: str,
    params: dict[str, object],
    limit: int,
    *,
    rooms: list[str],
    newest: int | None = None,
    narrow: str | None = None,
) -> list[str]:
    """Ids of the indexed (so live) messages matching the plan's words and has:link and
    `where` (a condition on `d`: search_docs' room_id, author_id, created_at, message_id,
    written by callers, never user input), newest first (created_at, then id), at most
    `limit`. Filters and order come from the index alone, so a common word costs a walk of
    its matches in the index, not a read of each matching message.

    For SQLite (store/postings.py), which reads matches newest first in each room and stops
    once the page is full: `rooms` holds every room `where` may let through (a superset
    will do), `newest` bounds created_at from above when `where` does (a cursor, a
    `before:`), `narrow="author"` says `where` names one author."""
    if tx.dialect == "sqlite":
        return postings.list_matching(
            tx, plan, where, params, limit, rooms=rooms, newest=newest, narrow=narrow
        )
    clauses = [where]
    params = dict(params)
    if plan.include:
        sql, query = _matching(tx, plan.include, every=True, name="s_inc")
        clauses.append(sql)
        params["s_inc"] = query
    if plan.exclude:
        sql, query = _matching(tx, plan.exclude, every=False, name="s_exc")
        clauses.append(f"NOT ({sql})")
        params["s_exc"] = query
    if plan.has_link:
        clauses.append("d.has_link = TRUE")
    if plan.has_file:
        clauses.append(_HAS_FILE)
    rows = tx.fetchall(
        f"SELECT d.message_id FROM search_docs d WHERE {' AND '.join(clauses)}"
        " ORDER BY d.created_at DESC, d.message_id DESC LIMIT :s_limit",
        {**params, "s_limit": limit},
    )
    return [r[0] for r in rows]
