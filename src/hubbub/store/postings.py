"""SQLite's search index: a postings table kept in step with `search_docs`, and its query.

- `search_docs`: one row per indexed message: its integer doc id, room, author, time,
  has_link, and `words` (its tokens in order, space-separated: no token holds a space), so a
  phrase is checked and a removal knows what to remove without reading `messages`.
- `search_postings`: one row per distinct token of each indexed message, `(token, at, doc)`,
  a b-tree WITHOUT ROWID ordered by token, then time (`at` is the message's created_at),
  then doc. A word's matches are read newest first and the read stops once a page is full.

Removing a message deletes its rows from both tables: ordinary b-tree deletes, so with
`PRAGMA secure_delete` (store/sqlite.py) no removed token stays in a live page, at a cost in
proportion to the message's own tokens, not to the index's size. (FTS5 before SQLite 3.42
kept removed tokens until its segments merged: migration 0015 replaced it.)

A query walks one *driver* in (at, doc) order, newest first: the rarest word of the query
(counted up to a cap), the tokens a prefix stands for, or, when the caller's condition
names one author or room and every word is common, that author's or room's documents. Each
chunk of candidates is filtered in SQL (the caller's condition, the other words), then
checked exactly against `words` (phrases, prefixes, exclusions), and ordered as PostgreSQL
orders them (created_at, then message_id, newest first).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

import orjson

from hubbub.store.engine import Tx
from hubbub.textsearch import Plan, Term

__all__ = ["add", "add_many", "list_matching", "remove", "replace"]

COUNT_CAP = 20_000  # postings counted per word to pick the rarest (an index-only read)
DOCS_DRIVE_MIN = 2_000  # the rarest word's count above which a named author/room drives
PREFIX_TOKENS_MAX = 64  # a prefix standing for more tokens is read as one range and sorted
CHUNK_FIRST, CHUNK_MAX = 200, 5_000
_Key = tuple[int, int]  # (at, doc)


def _json(tokens: list[str] | set[str]) -> str:
    return orjson.dumps(sorted(tokens)).decode()


def add(tx: Tx, doc: int, at: int, words: list[str]) -> None:
    """Add a document's postings (its distinct tokens)."""
    if words:
        tx.execute(
            "INSERT INTO search_postings (token, at, doc) SELECT value, :a, :d FROM json_each(:w)",
            {"a": at, "d": doc, "w": _json(set(words))},
        )


def add_many(tx: Tx, rows: list[tuple[str, int, int]]) -> None:
    """Add postings (token, at, doc) of several documents at once, in key order (a batch
    touches each b-tree page once, where one document at a time would come back to it)."""
    if rows:
        tx.execute(
            "INSERT INTO search_postings (token, at, doc) SELECT json_extract(value, '$[0]'),"
            " json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(:rows)",
            {"rows": orjson.dumps(sorted(rows)).decode()},
        )


def remove(tx: Tx, doc: int, at: int, words: list[str] | set[str]) -> None:
    """Remove a document's postings for `words` (each a b-tree delete)."""
    if words:
        tx.execute(
            "DELETE FROM search_postings WHERE token IN (SELECT value FROM json_each(:w))"
            " AND at = :a AND doc = :d",
            {"a": at, "d": doc, "w": _json(set(words))},
        )


def replace(tx: Tx, doc: int, at: int, old: list[str], new: list[str]) -> None:
    """Change a document's postings from the tokens of `old` to those of `new`."""
    before, after = set(old), set(new)
    remove(tx, doc, at, before - after)
    add(tx, doc, at, list(after - before))


# Reading


def _term_matches(words: list[str], term: Term) -> bool:
    n = len(term.words)
    last = n - 1
    for i in range(len(words) - n + 1):
        for j, want in enumerate(term.words):
            have = words[i + j]
            if have != want and not (term.prefix and j == last and have.startswith(want)):
                break
        else:
            return True
    return False


def _plan_matches(words: list[str], plan: Plan) -> bool:
    """FTS5's and tsquery's meaning of the plan, on one document's tokens."""
    return all(_term_matches(words, t) for t in plan.include) and not any(
        _term_matches(words, t) for t in plan.exclude
    )


def _upper(prefix: str) -> str | None:
    """The least string after every string that starts with `prefix` (None: no bound)."""
    last = ord(prefix[-1])
    return None if last >= 0x10FFFF else prefix[:-1] + chr(last + 1)


class _Walk:
    """Keys (at, doc) newest first from one SQL source, read in growing chunks."""

    def __init__(
        self, tx: Tx, sql: str, params: dict[str, object], newest: int | None, key: str
    ) -> None:
        self.tx, self.sql, self.params = tx, sql, params
        self.newest, self.key = newest, key  # key: the (at, doc) columns, as SQL

    def __iter__(self) -> Iterator[_Key]:
        size = CHUNK_FIRST
        last: _Key | None = None
        while True:
            if last is not None:
                bound = f"AND ({self.key}) < (:w_at, :w_doc)"
                extra: dict[str, object] = {"w_at": last[0], "w_doc": last[1]}
            elif self.newest is not None:
                at = self.key.partition(",")[0]
                bound, extra = f"AND {at} <= :w_at", {"w_at": self.newest}
            else:
                bound, extra = "", {}
            rows = self.tx.fetchall(
                self.sql.format(bound=bound), {**self.params, **extra, "w_n": size}
            )
            for row in rows:
                yield int(row[0]), int(row[1])
            if len(rows) < size:
                return
            last = int(rows[-1][0]), int(rows[-1][1])
            size = min(size * 2, CHUNK_MAX)


def _token_walk(tx: Tx, token: str, newest: int | None) -> _Walk:
    sql = (
        "SELECT at, doc FROM search_postings WHERE token = :w_token {bound}"
        " ORDER BY at DESC, doc DESC LIMIT :w_n"
    )
    return _Walk(tx, sql, {"w_token": token}, newest, "at, doc")


def _unique(keys: Iterator[_Key]) -> Iterator[_Key]:
    previous = None
    for key in keys:
        if key != previous:
            yield key
        previous = key


def _prefix_walk(tx: Tx, prefix: str, newest: int | None) -> Iterator[_Key]:
    """The documents holding a token that starts with `prefix`, newest first, once each."""
    upper = _upper(prefix)
    below = "AND token < :hi" if upper is not None else ""
    params: dict[str, object] = {"lo": prefix, "hi": upper}
    tokens: list[str] = []
    while len(tokens) <= PREFIX_TOKENS_MAX:  # a skip scan: one b-tree seek per token
        row = tx.fetchone(
            f"SELECT token FROM search_postings WHERE token >= :lo {below} ORDER BY token LIMIT 1",
            params,
        )
        if row is None:
            break
        tokens.append(str(row[0]))
        params["lo"] = str(row[0]) + "\x00"  # the next token after this one
    if len(tokens) <= PREFIX_TOKENS_MAX:
        walks = [iter(_token_walk(tx, t, newest)) for t in tokens]
        return _unique(heapq.merge(*walks, reverse=True))
    sql = (
        "SELECT at, doc FROM search_postings"
        f" WHERE token >= :p_lo {below.replace(':hi', ':p_hi')} {{bound}}"
        " GROUP BY at, doc ORDER BY at DESC, doc DESC LIMIT :w_n"
    )
    return iter(_Walk(tx, sql, {"p_lo": prefix, "p_hi": upper}, newest, "at, doc"))


def _count(tx: Tx, token: str) -> int:
    row = tx.fetchone(
        "SELECT count(*) FROM (SELECT 1 FROM search_postings WHERE token = :t LIMIT :cap)",
        {"t": token, "cap": COUNT_CAP},
    )
    return int(row[0]) if row is not None else 0


def list_matching(
    tx: Tx,
    plan: Plan,
    where: str,
    params: dict[str, object],
    limit: int,
    *,
    newest: int | None = None,
    narrow: str | None = None,
) -> list[str]:
    """See store/search.py's `list_matching`; `newest` bounds created_at from above (a hint:
    `where` still decides), `narrow` ("author" or "room") says `where` names one author or
    one room (indexed on search_docs), which then drives the walk when every word is
    common."""
    required = sorted({w for t in plan.include for w in (t.words[:-1] if t.prefix else t.words)})
    counts = {w: _count(tx, w) for w in required}
    if any(n == 0 for n in counts.values()):
        return []  # a word no document holds
    prefixes = [t.words[-1] for t in plan.include if t.prefix]
    rarest = min(required, key=counts.__getitem__) if required else None
    walk: Iterator[_Key]
    if rarest is not None and not (narrow and counts[rarest] >= DOCS_DRIVE_MIN):
        walk = iter(_token_walk(tx, rarest, newest))
    elif rarest is None and prefixes and not narrow:
        walk = _prefix_walk(tx, max(prefixes, key=len), newest)
    else:  # no word to drive, or a named author/room narrower than the words
        how = f"INDEXED BY search_docs_{narrow}" if narrow in ("author", "room") else ""
        sql = (
            f"SELECT d.created_at, d.doc FROM search_docs d {how}"
            f" WHERE ({where}) {{bound}} ORDER BY d.created_at DESC, d.doc DESC LIMIT :w_n"
        )
        walk = iter(_Walk(tx, sql, params, newest, "d.created_at, d.doc"))
    others = [w for w in required if w != rarest]
    exists = "".join(
        f" AND EXISTS (SELECT 1 FROM search_postings p WHERE p.token = :s_o{i}"
        " AND p.at = d.created_at AND p.doc = d.doc)"
        for i in range(len(others))
    )
    link = " AND d.has_link = TRUE" if plan.has_link else ""
    check = (
        # NOT INDEXED: the chunk's doc ids are the way in, never the caller's room or author.
        "SELECT d.created_at, d.message_id, d.words FROM search_docs d NOT INDEXED"
        f" WHERE d.doc IN (SELECT value FROM json_each(:c_docs)) AND ({where}){link}{exists}"
    )
    fixed = {**params, **{f"s_o{i}": w for i, w in enumerate(others)}}
    hits: list[tuple[int, str]] = []
    boundary: int | None = None  # the time of the limit-th hit: ties with it still count
    size = CHUNK_FIRST
    done = False
    while not done:
        chunk: list[int] = []
        for at, doc in walk:
            if boundary is not None and at < boundary:
                done = True
                break
            chunk.append(doc)
            if len(chunk) >= size:
                break
        else:
            done = True
        if not chunk:
            break
        size = min(size * 2, CHUNK_MAX)
        rows = tx.fetchall(check, {**fixed, "c_docs": orjson.dumps(chunk).decode()})
        for at, message_id, words in rows:
            if _plan_matches(str(words).split(" "), plan):
                hits.append((int(at), str(message_id)))
        if boundary is None and len(hits) >= limit:
            boundary = sorted(hits, reverse=True)[limit - 1][0]
    hits.sort(reverse=True)
    return [message_id for _, message_id in hits[:limit]]
