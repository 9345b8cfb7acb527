"""Benchmark message search (#16): query latency over a generated corpus, and the index's size.

    .venv/bin/python bench/search.py [--messages 1000000] [--rooms 1000] [--member-of 50]
        [--queries 100] [--deletes 50] [--corpus FILE.db] [--database-url postgresql://...]
        [--out-dir DIR] [--quick]

The corpus is written through the store's own `insert_message` (so each message is indexed
as a send indexes it), 2,000 messages per transaction, into a fresh SQLite file in a temporary
directory (or a fresh database made on the --database-url server and dropped afterwards:
the database named in the URL is never touched). Texts are drawn from a Zipf-like vocabulary,
with identifiers, versions, URLs, CJK sentences and emoji mixed in; one user (`reader`) is a
member of `--member-of` of the rooms. Then, in process (no HTTP: this measures the query, not
the web stack), each kind of query runs `--queries` times with varying terms, as `reader`:
a single word, two words, a phrase, a prefix, a CJK substring and a `from:` filter; p50 and
p99 in milliseconds are reported per kind, with the index's size beside the messages
table's. On PostgreSQL the tables are ANALYZEd after loading (autovacuum's job on a live
server). Results: a table and `<out-dir>/search-<UTC timestamp>.json`.

Then `--deletes` deletes and as many edits of random messages, each its own transaction
through the store's `mark_deleted`/`update_text` (so the index follows as in the API): their
p50/p99 is what a delete or edit holds the single writer for; then 100 times as many new
messages through `insert_message`, 16 per transaction (the send path's store work, indexing
included, with an index of the corpus's size), in messages per second.

Generating 1,000,000 messages takes about six minutes here: --corpus FILE.db generates the
SQLite corpus into FILE.db once and reuses it on later runs (the options that shape it must
stay the same; the file is migrated first, so a file from an older release is reindexed by
the backfill, which is timed; deletes change it). --quick is 2,000 messages in 20 rooms, 10
queries per kind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hubbub.app import open_store
from hubbub.bus.memory import MemoryBus
from hubbub.clock import SystemClock
from hubbub.config import Settings
from hubbub.models import Author
from hubbub.services.search import SearchService
from hubbub.services.unit import UnitOfWork
from hubbub.store import Store, Tx
from hubbub.store import messages as messages_q
from hubbub.store import users as users_q

BENCH = Path(__file__).resolve().parent
BATCH = 2000
APPEND_BATCH = 16
AUTHORS = 50
CJK = [
    "東京都に行きました",
    "今日は雨が降っています",
    "会議は明日の午後です",
    "新しい版を出しました",
]
EMOJI = ["🎉", "🚀", "👍", "🔥"]
KINDS = ("word", "two words", "phrase", "prefix", "cjk substring", "from filter")


def vocabulary(rng: random.Random, size: int = 5000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = {"".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(size * 2)}
    return sorted(words)[:size]


def message_text(rng: random.Random, words: list[str], weights: list[float]) -> str:
    body = rng.choices(words, weights, k=rng.randint(4, 20))
    roll = rng.random()
    if roll < 0.05:
        body.append(rng.choice(CJK))
    elif roll < 0.08:
        body.append(f"v{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}")
    elif roll < 0.11:
        body.append(f"https://example.com/{rng.choice(words)}/{rng.randint(1, 9999)}")
    elif roll < 0.13:
        body.append(f"{rng.choice(words)}_{rng.choice(words)}")
    elif roll < 0.15:
        body.append(rng.choice(EMOJI))
    return " ".join(body)


def _setup(tx: Tx, rooms: int, member_of: int, now: int) -> None:
    for i in range(AUTHORS + 1):
        name = "reader" if i == AUTHORS else f"author{i}"
        tx.execute(
            "INSERT INTO users (id, username, username_key, display_name, password_hash,"
            " created_at) VALUES (:id, :n, :n, :n, 'x', :t)",
            {"id": f"u_{name}", "n": name, "t": now},
        )
    for r in range(rooms):
        tx.execute(
            "INSERT INTO rooms (id, name, topic, visibility, kind, created_at)"
            " VALUES (:id, :n, '', 'public', 'room', :t)",
            {"id": f"r_{r}", "n": f"room-{r}", "t": now},
        )
        if r < member_of:
            tx.execute(
                "INSERT INTO members (room_id, user_id, role, joined_at)"
                " VALUES (:r, 'u_reader', 'member', :t)",
                {"r": f"r_{r}", "t": now},
            )


async def build_corpus(store: Store, opts: argparse.Namespace, texts: Callable[[], str]) -> float:
    """Write the corpus; return the seconds it took (the send path's indexing included)."""
    now = int(time.time() * 1000) - opts.messages
    await store.write(lambda tx: _setup(tx, opts.rooms, opts.member_of, now))
    started = time.perf_counter()
    done = 0
    rng = random.Random(7)
    while done < opts.messages:
        n = min(BATCH, opts.messages - done)
        batch = [
            (f"r_{rng.randrange(opts.rooms)}", f"author{rng.randrange(AUTHORS)}", texts())
            for _ in range(n)
        ]

        def write(tx: Tx, batch: list[tuple[str, str, str]] = batch, at: int = now + done) -> None:
            for i, (room, author, text) in enumerate(batch):
                who = Author(id=f"u_{author}", username=author, display_name=author, guest=False)
                messages_q.insert_message(tx, messages_q.NewMessage(room, text, who), at + i)

        await store.write(write)
        done += n
        print(f"\r{done:,} / {opts.messages:,} messages", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return time.perf_counter() - started


def queries(rng: random.Random, words: list[str], n: int) -> dict[str, list[str]]:
    # Words from the middle of the vocabulary: neither the commonest nor never seen.
    middle = words[50:1500]
    return {
        "word": [rng.choice(middle) for _ in range(n)],
        "two words": [f"{rng.choice(words[:20])} {rng.choice(words[20:300])}" for _ in range(n)],
        "phrase": [f'"{rng.choice(words[:10])} {rng.choice(words[:30])}"' for _ in range(n)],
        "prefix": [rng.choice(middle)[:3] + "*" for _ in range(n)],
        "cjk substring": [rng.choice(["東京", "雨が", "明日", "版を出"]) for _ in range(n)],
        "from filter": [
            f"from:author{rng.randrange(AUTHORS)} {rng.choice(words[:30])}" for _ in range(n)
        ],
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def sizes(store: Store) -> dict[str, int | None]:
    def fn(tx: Tx) -> dict[str, int | None]:
        if tx.dialect == "postgresql":
            row = tx.fetchone(
                "SELECT pg_total_relation_size('messages'), pg_total_relation_size('search_docs')"
            )
            assert row is not None
            return {"messages_bytes": int(row[0]), "index_bytes": int(row[1])}
        try:
            rows = tx.fetchall("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
        except Exception:  # dbstat is not compiled into every SQLite
            return {"messages_bytes": None, "index_bytes": None}
        by_name = {str(r[0]): int(r[1]) for r in rows}
        index = sum(v for k, v in by_name.items() if k.startswith("search_"))
        messages = sum(
            v for k, v in by_name.items() if k.startswith(("messages", "sqlite_autoindex_messages"))
        )
        return {"messages_bytes": messages, "index_bytes": index}

    return await store.read(fn)


async def edits_and_deletes(store: Store, n: int, now: int) -> dict[str, float]:
    """Time `n` deletes and `n` edits of random indexed messages, one transaction each."""
    rows = await store.read(
        lambda tx: tx.fetchall(
            "SELECT message_id FROM search_docs ORDER BY random() LIMIT :n", {"n": 2 * n}
        )
    )
    ids = [str(r[0]) for r in rows]
    timings: dict[str, list[float]] = {"delete": [], "edit": []}
    for i, message_id in enumerate(ids):
        kind = "delete" if i % 2 == 0 else "edit"

        def write(tx: Tx, message_id: str = message_id, kind: str = kind) -> None:
            if kind == "delete":
                messages_q.mark_deleted(tx, message_id)
            else:
                messages_q.update_text(tx, message_id, "edited words here", now)

        started = time.perf_counter()
        await store.write(write)
        timings[kind].append((time.perf_counter() - started) * 1000)
    report: dict[str, float] = {}
    for kind, values in timings.items():
        if values:
            report[f"{kind}_p50_ms"] = round(statistics.median(values), 2)
            report[f"{kind}_p99_ms"] = round(percentile(values, 0.99), 2)
    return report


async def appends(store: Store, texts: Callable[[], str], rooms: int, n: int) -> float:
    """Send `n` more messages into the corpus through `insert_message`, APPEND_BATCH per
    transaction (as group commit gathers concurrent sends); return messages per second: the
    send path's store work with an index of the corpus's size."""
    rng = random.Random(11)
    batch = [
        (f"r_{rng.randrange(rooms)}", f"author{rng.randrange(AUTHORS)}", texts()) for _ in range(n)
    ]
    now = int(time.time() * 1000)
    started = time.perf_counter()
    for k in range(0, n, APPEND_BATCH):

        def write(tx: Tx, chunk: list[tuple[str, str, str]] = batch[k : k + APPEND_BATCH]) -> None:
            for room, author, text in chunk:
                who = Author(id=f"u_{author}", username=author, display_name=author, guest=False)
                messages_q.insert_message(tx, messages_q.NewMessage(room, text, who), now)

        await store.write(write)
    return n / (time.perf_counter() - started)


async def run(opts: argparse.Namespace, database_url: str) -> dict[str, Any]:
    settings = Settings(database_url=database_url, password_hashing="fast")
    store = await open_store(settings)
    try:
        started = time.perf_counter()
        await store.migrate()
        migrated = time.perf_counter() - started
        rng = random.Random(1)
        words = vocabulary(rng)
        weights = [1 / (i + 1) for i in range(len(words))]
        have = await store.read(lambda tx: tx.fetchone("SELECT count(*) FROM messages"))
        seconds = None
        if not have or not have[0]:
            seconds = await build_corpus(store, opts, lambda: message_text(rng, words, weights))
        clock = SystemClock()
        search = SearchService(UnitOfWork(store, clock, MemoryBus()))
        started = time.perf_counter()
        backfilled = await search.backfill_all()  # a corpus from before a reindexing migration
        backfill_seconds = time.perf_counter() - started
        if store.engine.dialect == "postgresql":  # as autovacuum would have by now
            await store.write(lambda tx: tx.execute("ANALYZE"))
        reader = await store.read(lambda tx: users_q.find_user_by_id(tx, "u_reader"))
        assert reader is not None
        report: dict[str, Any] = {
            "messages": opts.messages,
            "rooms": opts.rooms,
            "member_of": opts.member_of,
            "engine": store.engine.dialect,
            "corpus_seconds": round(seconds, 1) if seconds else None,
            "messages_per_second": round(opts.messages / seconds, 1) if seconds else None,
            "migrate_seconds": round(migrated, 1),
            "backfilled": backfilled,
            "backfill_seconds": round(backfill_seconds, 1),
            **await sizes(store),
            "kinds": {},
        }
        for kind, qs in queries(random.Random(2), words, opts.queries).items():
            latencies = []
            found = 0
            await search.search(reader, qs[0])  # warm the caches once per kind
            for q in qs:
                started = time.perf_counter()
                page = await search.search(reader, q)
                latencies.append((time.perf_counter() - started) * 1000)
                found += len(page.hits)
            report["kinds"][kind] = {
                "p50_ms": round(statistics.median(latencies), 2),
                "p99_ms": round(percentile(latencies, 0.99), 2),
                "mean_hits": round(found / len(qs), 1),
            }
        if opts.deletes:
            report["writes"] = await edits_and_deletes(store, opts.deletes, int(time.time() * 1000))
            sends = await appends(
                store, lambda: message_text(rng, words, weights), opts.rooms, 100 * opts.deletes
            )
            report["writes"]["appends_per_second"] = round(sends)
        return report
    finally:
        await store.close()


def fresh_database(server_url: str) -> tuple[str, Callable[[], None]]:
    import psycopg

    name = f"hubbub_bench_{uuid.uuid4().hex[:8]}"
    base = server_url.rpartition("/")[0]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')

    return f"{base}/{name}", drop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--member-of", type=int, default=50)
    parser.add_argument("--queries", type=int, default=100, help="per kind of query")
    parser.add_argument("--deletes", type=int, default=50, help="and as many edits (0: none)")
    parser.add_argument(
        "--corpus", type=Path, help="SQLite: generate into this file once, then reuse it"
    )
    parser.add_argument("--database-url", help="postgresql://...: a fresh database on it")
    parser.add_argument("--out-dir", type=Path, default=BENCH / "results")
    parser.add_argument("--quick", action="store_true", help="2,000 messages: a smoke test")
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.messages, opts.rooms, opts.member_of, opts.queries = 2000, 20, 5, 10
        opts.deletes = min(opts.deletes, 10)
    opts.member_of = min(opts.member_of, opts.rooms)
    with tempfile.TemporaryDirectory(prefix="hubbub-bench-search-") as tmp:
        drop: Callable[[], None] | None = None
        url = f"sqlite:///{Path(tmp) / 'search.db'}"
        if opts.corpus:
            url = f"sqlite:///{opts.corpus.resolve()}"
        elif opts.database_url:
            url, drop = fresh_database(opts.database_url)
        try:
            report = asyncio.run(run(opts, url))
        finally:
            if drop is not None:
                drop()
    print(f"search over {report['messages']:,} messages on {report['engine']}")
    print(f"{'query':<16}{'p50 ms':>10}{'p99 ms':>10}{'hits':>8}")
    for kind, row in report["kinds"].items():
        print(f"{kind:<16}{row['p50_ms']:>10}{row['p99_ms']:>10}{row['mean_hits']:>8}")
    print(f"index {report['index_bytes']} bytes, messages {report['messages_bytes']} bytes")
    for name, value in report.get("writes", {}).items():
        print(f"{name:<16}{value:>10}")
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (opts.out_dir / f"search-{stamp}.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
