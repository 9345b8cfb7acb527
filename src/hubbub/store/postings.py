"""SQLite's search index: a postings table kept in step with `search_docs`, and its query.

- `search_docs`: one row per indexed message: its integer doc id, room, author, time,
  has_link, and `words` (its tokens in order, space-separated: no token holds a space), so a
  phrase is checked and a removal knows what to remove without reading `messages`.
- `search_rooms`: a small number for each room id (`room`), so postings stay short.
- `search_postings`: one row per distinct token of each indexed message,
  `(token, room, at, doc)`, a b-tree WITHOUT ROWID ordered by token, then room, then time
  (`at` is the message's created_at), then doc. A word's matches in each room the searcher
  may read are read newest first, merged, and the read stops once a page is full: a user in
  few rooms never walks the matches in rooms they cannot see.

Removing a message deletes its rows from both tables: ordinary b-tree deletes, so with
`PRAGMA secure_delete` (store/sqlite.py) no removed token stays in a live page, at a cost in
proportion to the message's own tokens, not to the index's size. (FTS5 before SQLite 3.42
kept removed tokens until its segments merged: migration 0015 replaced it.)

A query walks one *driver* in (at, doc) order, newest first: the rarest word of the query
(counted up to a cap) in each of the rooms searched, the tokens a prefix stands for, or,
when the caller's condition names one author and every word is common, that author's
documents (with no word at all: the rooms' documents). Each
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

__all__ = ["add", "add_many", "list_matching", "remove", "replace", "room_number"]

COUNT_CAP = 20_000  # postings counted per word in the rooms searched, to pick the rarest
DOCS_DRIVE_MIN = 2_000  # the rarest word's count above which a named author drives
PREFIX_TOKENS_MAX = 64  # a prefix standing for more tokens is read as one range and sorted
STREAMS_MAX = 512  # (token, room) ranges merged at most; past that, one range, sorted
CHUNK_FIRST, CHUNK_MAX = 200, 5_000
ROOM_CHUNK_FIRST = 16  # one room's first read: most pages need few from each room
_Key = tuple[int, int]  # (at, doc)


def _json(tokens: list[str] | set[str]) -> str:
    return orjson.dumps(sorted(tokens)).decode()


def room_number(tx: Tx, room_id: str) -> int:
    """The room's number in the index (made on first use)."""
    tx.execute(
        "INSERT INTO search_rooms (room_id) VALUES (:r) ON CONFLICT DO NOTHING", {"r": room_id}
    )
    row = tx.fetchone("SELECT room FROM search_rooms WHERE room_id = :r", {"r": room_id})
    assert row is not None
    return int(row[0])


def add(tx: Tx, doc: int, room: int, at: int, words: list[str]) -> None:
    """Add a document's postings (its distinct tokens)."""
    if words:
        tx.execute(
            "INSERT INTO search_postings (token, room, at, doc)"
            " SELECT value, :r, :a, :d FROM json_each(:w)",
            {"r": room, "a": at, "d": doc, "w": _json(set(words))},
        )


def add_many(tx: Tx, rows: list[tuple[str, int, int, int]]) -> None:
    """Add postings (token, room, at, doc) of several documents at once, in key order (a
    batch touches each b-tree page once, where one document at a time would come back)."""
    if rows:
        tx.execute(
            "INSERT INTO search_postings (token, room, at, doc)"
            " SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),"
            " json_extract(value, '$[2]'), json_extract(value, '$[3]') FROM json_each(:rows)",
            {"rows": orjson.dumps(sorted(rows)).decode()},
        )


def remove(tx: Tx, doc: int, room: int, at: int, words: list[str] | set[str]) -> None:
    """Remove a document's postings for `words` (each a b-tree delete)."""
    if words:
        tx.execute(
            "DELETE FROM search_postings WHERE token IN (SELECT value FROM json_each(:w))"
            " AND room = :r AND at = :a AND doc = :d",
            {"r": room, "a": at, "d": doc, "w": _json(set(words))},
        )


def replace(tx: Tx, doc: int, room: int, at: int, old: list[str], new: list[str]) -> None:
    """Change a document's postings from the tokens of `old` to those of `new`."""
    before, after = set(old), set(new)
    remove(tx, doc, room, at, before - after)
    add(tx, doc, room, at, list(after - before))


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
        self,
        tx: Tx,
        sql: str,
        params: dict[str, object],
        newest: int | None,
        key: str,
        first: int = CHUNK_FIRST,
    ) -> None:
        self.tx, self.sql, self.params = tx, sql, params
        self.newest, self.key = newest, key  # key: the (at, doc) columns, as SQL
        self.first = first

    def __iter__(self) -> Iterator[_Key]:
        size = self.first
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


def _room_walk(tx: Tx, token: str, room: int, newest: int | None) -> _Walk:
    sql = (
        "SELECT at, doc FROM search_postings WHERE token = :w_token AND room = :w_room {bound}"
        " ORDER BY at DESC, doc DESC LIMIT :w_n"
    )
    params: dict[str, object] = {"w_token": token, "w_room": room}
    return _Walk(tx, sql, params, newest, "at, doc", ROOM_CHUNK_FIRST)


def _range_walk(tx: Tx, lo: str, hi: str | None, rooms: list[int], newest: int | None) -> _Walk:
    """Documents in `rooms` holding a token in [lo, hi), read as one range and sorted."""
    below = "AND token < :p_hi" if hi is not None else ""
    sql = (
        f"SELECT at, doc FROM search_postings WHERE token >= :p_lo {below}"
        " AND room IN (SELECT value FROM json_each(:p_rooms)) {bound}"
        " GROUP BY at, doc ORDER BY at DESC, doc DESC LIMIT :w_n"
    )
    params: dict[str, object] = {"p_lo": lo, "p_hi": hi, "p_rooms": orjson.dumps(rooms).decode()}
    return _Walk(tx, sql, params, newest, "at, doc")


def _token_walk(tx: Tx, tokens: list[str], rooms: list[int], newest: int | None) -> Iterator[_Key]:
    """Documents in `rooms` holding any of `tokens`, newest first, once each."""
    walks = [iter(_room_walk(tx, t, r, newest)) for t in tokens for r in rooms]
    return _unique(heapq.merge(*walks, reverse=True))


def _unique(keys: Iterator[_Key]) -> Iterator[_Key]:
    previous = None
    for key in keys:
        if key != previous:
            yield key
        previous = key


def _prefix_walk(tx: Tx, prefix: str, rooms: list[int], newest: int | None) -> Iterator[_Key]:
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
    if len(tokens) <= PREFIX_TOKENS_MAX and len(tokens) * len(rooms) <= STREAMS_MAX:
        return _token_walk(tx, tokens, rooms, newest)
    return iter(_range_walk(tx, prefix, upper, rooms, newest))


def _docs_walk(tx: Tx, rooms: list[int], newest: int | None) -> Iterator[_Key]:
    """Every document in `rooms`, newest first (a query with no word to drive it)."""
    if len(rooms) <= STREAMS_MAX:
        sql = (
            "SELECT created_at, doc FROM search_docs WHERE room = :w_room {bound}"
            " ORDER BY created_at DESC, doc DESC LIMIT :w_n"
        )
        walks = [
            iter(_Walk(tx, sql, {"w_room": r}, newest, "created_at, doc", ROOM_CHUNK_FIRST))
            for r in rooms
        ]
        return heapq.merge(*walks, reverse=True)
    sql = (
        "SELECT created_at, doc FROM search_docs"
        " WHERE room IN (SELECT value FROM json_each(:p_rooms)) {bound}"
        " ORDER BY created_at DESC, doc DESC LIMIT :w_n"
    )
    params: dict[str, object] = {"p_rooms": orjson.dumps(rooms).decode()}
    return iter(_Walk(tx, sql, params, newest, "created_at, doc"))


def _room_numbers(tx: Tx, rooms: list[str]) -> list[int]:
    rows = tx.fetchall(
        "SELECT room FROM search_rooms WHERE room_id IN (SELECT value FROM json_each(:r))",
        {"r": orjson.dumps(sorted(set(rooms))).decode()},
    )
    return sorted(int(r[0]) for r in rows)


def _count(tx: Tx, token: str, rooms: list[int]) -> int:
    """How many documents in `rooms` hold `token`, up to COUNT_CAP (an index-only read)."""
    in_rooms = " AND room IN (SELECT value FROM json_each(:r))" if len(rooms) <= STREAMS_MAX else ""
    row = tx.fetchone(
        "SELECT count(*) FROM"
        f" (SELECT 1 FROM search_postings WHERE token = :t{in_rooms} LIMIT :cap)",
        {"t": token, "r": orjson.dumps(rooms).decode(), "cap": COUNT_CAP},
    )
    return int(row[0]) if row is not None else 0


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
    """See store/search.py's `list_matching`: `rooms` are the only rooms `where` may let
    through; `newest` bounds created_at from above (a hint: `where` still decides);
    `narrow="author"` says `where` names one author (indexed on search_docs), whose
    documents then drive the walk when every word is common."""
    numbers = _room_numbers(tx, rooms)
    if not numbers:
        return []
    required = sorted({w for t in plan.include for w in (t.words[:-1] if t.prefix else t.words)})
    counts = {w: _count(tx, w, numbers) for w in required}
    if any(n == 0 for n in counts.values()):
        return []  # a word no document holds
    prefixes = [t.words[-1] for t in plan.include if t.prefix]
    rarest = min(required, key=counts.__getitem__) if required else None
    walk: Iterator[_Key]
    if rarest is not None and not (narrow and counts[rarest] >= DOCS_DRIVE_MIN):
        if len(numbers) <= STREAMS_MAX:
            walk = _token_walk(tx, [rarest], numbers, newest)
        else:
            walk = iter(_range_walk(tx, rarest, rarest + "\x00", numbers, newest))
    elif rarest is None and prefixes and not narrow:
        walk = _prefix_walk(tx, max(prefixes, key=len), numbers, newest)
    elif narrow == "author":  # a named author, narrower than the words (or no words)
        sql = (
            "SELECT d.created_at, d.doc FROM search_docs d INDEXED BY search_docs_author"
            f" WHERE ({where}) {{bound}} ORDER BY d.created_at DESC, d.doc DESC LIMIT :w_n"
        )
        walk = iter(_Walk(tx, sql, params, newest, "d.created_at, d.doc"))
    else:  # no word: filters, exclusions
        walk = _docs_walk(tx, numbers, newest)
    others = [w for w in required if w != rarest]
    exists = "".join(
        f" AND EXISTS (SELECT 1 FROM search_postings p WHERE p.token = :s_o{i}"
        " AND p.room = d.room AND p.at = d.created_at AND p.doc = d.doc)"
        for i in range(len(others))
    )
    link = " AND d.has_link = TRUE" if plan.has_link else ""
    if plan.has_file:
        link += " AND EXISTS (SELECT 1 FROM uploads f WHERE f.message_id = d.message_id)"
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
