"""The message search index: kept in step with `messages` in the same transaction, and queried.

Both engines index the tokens `hubbub.textsearch` makes (so they find the same messages):

- SQLite: `search_docs` (one row per indexed message: its integer doc id, `has_link`) and the
  FTS5 table `search_fts` (the tokens, space-separated, with the `ascii` tokenizer, which
  splits on spaces only here: tokens hold no ASCII punctuation, and non-ASCII characters
  (already case-folded and without diacritics) stay as they are).
- PostgreSQL: `search_docs` with a `tsvector` built from the same tokens and positions (no
  text-search parser runs, so nothing is split or stemmed differently) and a GIN index.

Only live messages are indexed. Every path that changes a message's text goes through
store/messages.py, which calls `index`/`unindex`/`unindex_range` here in its transaction (the
redaction rule, docs/architecture.md). On SQLite, FTS5 keeps a removed document's tokens in
its b-tree until segments merge; from SQLite 3.42 its `secure-delete` option removes them at
once, and before that the transaction merges the index (`optimize`), which costs time in
proportion to the index's size (docs/deploy.md).
"""

from __future__ import annotations

from dataclasses import dataclass

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
_MAX_POSITION = 16383  # PostgreSQL's largest tsvector position


def _quote_pg(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _quote_fts(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _tsvector(words: list[str]) -> str:
    return " ".join(f"{_quote_pg(w)}:{min(i + 1, _MAX_POSITION)}" for i, w in enumerate(words))


def _remove_doc(tx: Tx, docs_sql: str, params: dict[str, object]) -> None:
    """SQLite: remove the FTS5 documents `docs_sql` selects, leaving none of their tokens in
    the index's b-tree (the redaction rule)."""
    version = tx.fetchone("SELECT sqlite_version()")
    secure = version is not None and tuple(int(p) for p in str(version[0]).split(".")) >= (3, 42)
    if secure:  # a persistent setting of the table; setting it again is cheap
        tx.execute("INSERT INTO search_fts (search_fts, rank) VALUES ('secure-delete', 1)")
    if tx.execute(f"DELETE FROM search_fts WHERE rowid IN ({docs_sql})", params) and not secure:
        tx.execute("INSERT INTO search_fts (search_fts) VALUES ('optimize')")


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
    words = index_words(text)
    params = {
        "m": entry.message_id,
        "r": entry.room_id,
        "a": entry.author_id,
        "t": entry.created_at,
        "l": has_link(text),
    }
    if tx.dialect == "sqlite":
        found = tx.fetchone(
            "INSERT INTO search_docs (message_id, room_id, author_id, created_at, has_link)"
            " VALUES (:m, :r, :a, :t, :l) RETURNING doc",
            params,
        )
        assert found is not None
        tx.execute(
            "INSERT INTO search_fts (rowid, words) VALUES (:d, :w)",
            {"d": found[0], "w": " ".join(words)},
        )
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
        row = tx.fetchone("SELECT doc FROM search_docs WHERE message_id = :m", {"m": message_id})
        if row is None:
            return
        _remove_doc(tx, "SELECT :d", {"d": row[0]})
        tx.execute("UPDATE search_docs SET has_link = :l WHERE doc = :d", {"l": link, "d": row[0]})
        tx.execute(
            "INSERT INTO search_fts (rowid, words) VALUES (:d, :w)",
            {"d": row[0], "w": " ".join(words)},
        )
        return
    tx.execute(
        "UPDATE search_docs SET has_link = :l, words = CAST(:w AS tsvector) WHERE message_id = :m",
        {"m": message_id, "l": link, "w": _tsvector(words)},
    )


def unindex(tx: Tx, message_id: str) -> None:
    """Remove a message from the index (deleted or erased). Idempotent."""
    if tx.dialect == "sqlite":
        _remove_doc(tx, "SELECT doc FROM search_docs WHERE message_id = :m", {"m": message_id})
    tx.execute("DELETE FROM search_docs WHERE message_id = :m", {"m": message_id})


def unindex_range(tx: Tx, room_id: str, after_seq: int, upto_seq: int) -> None:
    """Remove the room's messages with after_seq < seq <= upto_seq from the index."""
    params = {"room": room_id, "after": after_seq, "upto": upto_seq}
    doomed = "(SELECT id FROM messages WHERE room_id = :room AND seq > :after AND seq <= :upto)"
    if tx.dialect == "sqlite":
        _remove_doc(tx, f"SELECT doc FROM search_docs WHERE message_id IN {doomed}", params)
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
    # the backfill never removes anything from the index (which costs a merge on SQLite).
    rows = tx.fetchall(
        "SELECT m.id, m.room_id, m.author_id, m.created_at, m.text, m.deleted, d.message_id"
        " FROM messages m LEFT JOIN search_docs d ON d.message_id = m.id"
        " WHERE m.id > :after ORDER BY m.id LIMIT :n",
        {"after": row[0], "n": limit},
    )
    for message_id, room_id, author_id, created_at, text, deleted, indexed in rows:
        if not deleted and indexed is None:
            index(tx, Entry(message_id, room_id, author_id, int(created_at)), text)
    if rows:
        tx.execute("UPDATE search_state SET backfill_after = :a WHERE id = 1", {"a": rows[-1][0]})
    if len(rows) < limit:
        tx.execute("UPDATE search_state SET backfill_done = TRUE WHERE id = 1")
    return len(rows)


def restart_backfill(tx: Tx) -> None:
    """Forget the index and index every message again (after `hubbub copy-data`)."""
    if tx.dialect == "sqlite":
        tx.execute("DELETE FROM search_fts")
    tx.execute("DELETE FROM search_docs")
    tx.execute("DELETE FROM search_state")  # backfill_batch starts over without its row


def _fts_term(term: Term) -> str:
    phrase = _quote_fts(" ".join(term.words))
    return phrase + " *" if term.prefix else phrase


def _pg_term(term: Term) -> str:
    parts = [_quote_pg(w) for w in term.words]
    if term.prefix:
        parts[-1] += ":*"
    return "(" + " <-> ".join(parts) + ")"


def _matching(tx: Tx, terms: tuple[Term, ...], *, every: bool, name: str) -> tuple[str, str]:
    """A condition on `d` (search_docs) for the entries matching every (or any) of `terms`,
    and the engine's query text for it (made of tokens only: user syntax never gets here)."""
    if tx.dialect == "sqlite":
        query = (" AND " if every else " OR ").join(_fts_term(t) for t in terms)
        sql = f"d.doc IN (SELECT rowid FROM search_fts WHERE search_fts MATCH :{name})"
        return sql, query
    query = (" & " if every else " | ").join(_pg_term(t) for t in terms)
    return f"d.words @@ CAST(:{name} AS tsquery)", query


def list_matching(
    tx: Tx, plan: Plan, where: str, params: dict[str, object], limit: int
) -> list[str]:
    """Ids of the indexed (so live) messages matching the plan's words and has:link and
    `where` (a condition on `d`: search_docs' room_id, author_id, created_at, message_id,
    written by callers, never user input), newest first (created_at, then id), at most
    `limit`. Filters and order come from the index alone, so a common word costs a walk of
    its matches in the index, not a read of each matching message."""
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
    rows = tx.fetchall(
        f"SELECT d.message_id FROM search_docs d WHERE {' AND '.join(clauses)}"
        " ORDER BY d.created_at DESC, d.message_id DESC LIMIT :s_limit",
        {**params, "s_limit": limit},
    )
    return [r[0] for r in rows]
