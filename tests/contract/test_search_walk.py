"""The search index's query on both engines against an oracle (every message checked by
hand), with SQLite's walk made tiny (store/postings.py) so that a page takes several chunks,
rooms are merged or read as one range, a prefix stands for more tokens than it merges, a
named author drives the walk, and many messages share a millisecond (the order within it is
the message id's, as on PostgreSQL)."""

from __future__ import annotations

import random

import pytest

from hubbub.models import Author
from hubbub.store import messages as messages_q
from hubbub.store import postings
from hubbub.store import search as search_q
from hubbub.store.engine import Engine, Tx
from hubbub.store.schema import migrate
from hubbub.textsearch import Plan, Term, index_words, parse_query

pytestmark = pytest.mark.anyio

WORDS = ["alpha", "beta", "gamma", "delta", "prea", "preb", "prec", "pred", "pree", "zeta"]
MINE = "d.room_id IN (SELECT room_id FROM members WHERE user_id = :me)"
AFTER = "(d.created_at < :c_at OR (d.created_at = :c_at AND d.message_id < :c_id))"


@pytest.fixture(autouse=True, params=[3, 1], ids=["merged", "ranged"])
def tiny_walk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ways of reading the rooms: each (token, room) range merged, or (past
    STREAMS_MAX ranges) one range of the token read across the rooms and sorted."""
    monkeypatch.setattr(postings, "STREAMS_MAX", request.param)
    monkeypatch.setattr(postings, "ROOM_CHUNK_FIRST", 2)
    monkeypatch.setattr(postings, "CHUNK_FIRST", 3)
    monkeypatch.setattr(postings, "CHUNK_MAX", 8)
    monkeypatch.setattr(postings, "COUNT_CAP", 40)
    monkeypatch.setattr(postings, "DOCS_DRIVE_MIN", 5)
    monkeypatch.setattr(postings, "PREFIX_TOKENS_MAX", 3)


def _fill(tx: Tx) -> None:
    migrate(tx, 0)
    for name in ("reader", "ann", "bob"):
        tx.execute(
            "INSERT INTO users (id, username, username_key, display_name, password_hash,"
            " created_at) VALUES (:id, :n, :n, :n, 'x', 0)",
            {"id": f"u_{name}", "n": name},
        )
    for room in ("r_a", "r_b", "r_c"):
        tx.execute(
            "INSERT INTO rooms (id, name, visibility, kind, created_at)"
            " VALUES (:id, :id, 'public', 'room', 0)",
            {"id": room},
        )
    for room in ("r_a", "r_b"):
        tx.execute(
            "INSERT INTO members (room_id, user_id, role, joined_at)"
            " VALUES (:r, 'u_reader', 'member', 0)",
            {"r": room},
        )
    rng = random.Random(5)
    for i in range(300):
        room, author = rng.choice(["r_a", "r_b", "r_c"]), rng.choice(["ann", "bob"])
        text = " ".join(rng.choices(WORDS, weights=range(len(WORDS), 0, -1), k=rng.randint(1, 6)))
        who = Author(id=f"u_{author}", username=author, display_name=author, guest=False)
        messages_q.insert_message(tx, messages_q.NewMessage(room, text, who), 1000 + i // 7)


def _has(words: list[str], term: Term) -> bool:
    n = len(term.words)
    for i in range(len(words) - n + 1):
        window = words[i : i + n]
        if window[:-1] == list(term.words[:-1]) and (
            window[-1].startswith(term.words[-1]) if term.prefix else window[-1] == term.words[-1]
        ):
            return True
    return False


def _oracle(tx: Tx, plan: Plan, author: str | None) -> list[str]:
    rows = tx.fetchall(
        "SELECT id, text, created_at, author_id FROM messages"
        " WHERE room_id IN ('r_a', 'r_b') AND deleted = FALSE"
    )
    found = [
        (int(at), str(message_id))
        for message_id, text, at, by in rows
        if (author is None or by == author)
        and all(_has(index_words(text), t) for t in plan.include)
        and not any(_has(index_words(text), t) for t in plan.exclude)
    ]
    return [message_id for _, message_id in sorted(found, reverse=True)]


def _pages(tx: Tx, plan: Plan, author: str | None, limit: int) -> list[str]:
    """Every page of the query, each after the previous page's last hit (as the cursor)."""
    params: dict[str, object] = {"me": "u_reader"}
    base = MINE
    if author is not None:
        base += " AND d.author_id IN (:s_user0)"
        params["s_user0"] = author
    narrow = "author" if author is not None else None
    got: list[str] = []
    at: dict[str, int] = {}
    while True:
        where, newest = base, None
        if got:
            last = got[-1]
            where, newest = f"{base} AND {AFTER}", at[last]
            params.update(c_at=at[last], c_id=last)
        page = search_q.list_matching(
            tx, plan, where, params, limit, rooms=["r_a", "r_b"], newest=newest, narrow=narrow
        )
        for message_id in page:
            row = tx.fetchone("SELECT created_at FROM messages WHERE id = :m", {"m": message_id})
            assert row is not None
            at[message_id] = int(row[0])
        got += page
        if len(page) < limit:
            return got


@pytest.mark.parametrize(
    ("query", "author"),
    [
        ("alpha", None),
        ("zeta", None),
        ("alpha beta", None),
        ('"alpha beta"', None),
        ('"beta pre*"', None),
        ("pre*", None),  # five tokens: more than the walk merges
        ("prec*", None),
        ("alpha -beta", None),
        ("-alpha", None),
        ("alpha", "u_ann"),  # the author's documents drive the walk
        ("nothing", None),
    ],
)
async def test_every_page_is_what_the_oracle_finds_in_order(
    engine: Engine, query: str, author: str | None
) -> None:
    await engine.write(_fill)
    plan = parse_query(query)
    expected = await engine.read(lambda tx: _oracle(tx, plan, author))
    for limit in (1, 4, 100):

        def pages(tx: Tx, limit: int = limit) -> list[str]:
            return _pages(tx, plan, author, limit)

        assert await engine.read(pages) == expected, (query, limit)
