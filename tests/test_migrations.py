"""Migrations on databases made by earlier releases (tests/fixtures/), on both engines.

0003 rewrote the event log and the stored idempotent answers from the API's wire shape to
versioned domain payloads: after it, every stored event decodes, frames to exactly the `data`
clients received from 0.1.0 (and the fields added since), and matches the published Event
schema; an idempotent retry of a
0.1.0 send replays the original answer.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager

from hubbub.app import create_app, open_store
from hubbub.bus.memory import MemoryBus
from hubbub.clock import SystemClock
from hubbub.config import Settings
from hubbub.realtime.frames import event_frame
from hubbub.services.search import SearchService
from hubbub.services.unit import UnitOfWork
from hubbub.store.events import list_after
from hubbub.store.schema import applied_versions, load_migrations
from hubbub.store.users import find_user_by_username
from tests.backends import Databases, _pg_bindir
from tests.event_schema import check_frame
from tests.server_process import free_port

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).parent / "fixtures"
# Every release whose database is kept here (tests/fixtures/README.md), oldest first.
RELEASES = sorted(
    (p.name.removeprefix("release-").removesuffix(".sqlite") for p in FIXTURES.glob("*.sqlite")),
    key=lambda v: tuple(int(n) for n in v.split(".")),
)
ENGINES = ["sqlite", "postgres"]


def test_each_release_keeps_a_database_for_both_engines() -> None:
    assert RELEASES, "tests/fixtures/ should hold at least release 0.1.0's databases"
    for release in RELEASES:
        assert (FIXTURES / f"release-{release}.pg.sql").exists(), release


@pytest.fixture(
    params=[(engine, release) for release in RELEASES for engine in ENGINES],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def released(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a copy of the database a release made (tests/fixtures/README.md), on
    each engine."""
    engine, release = request.param
    if engine == "sqlite":
        path = tmp_path / "released.db"
        shutil.copyfile(FIXTURES / f"release-{release}.sqlite", path)
        yield Settings(database_url=f"sqlite:///{path}", password_hashing="fast")
        return
    databases: Databases = request.getfixturevalue("pg_databases")
    url = databases.create_empty()
    bindir = _pg_bindir()
    assert bindir is not None
    subprocess.run(
        [
            str(bindir / "psql"),
            *("-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f"),
            str(FIXTURES / f"release-{release}.pg.sql"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    try:
        yield Settings(database_url=url, password_hashing="fast")
    finally:
        databases.drop(url)


def extends(new: Any, old: Any) -> bool:
    """`new` says everything `old` said, the same way (fields added since are fine: the API
    only ever adds)."""
    if isinstance(old, dict):
        return isinstance(new, dict) and all(
            k in new and extends(new[k], v) for k, v in old.items()
        )
    if isinstance(old, list):
        return (
            isinstance(new, list)
            and len(new) == len(old)
            and all(extends(n, o) for n, o in zip(new, old, strict=True))
        )
    return bool(new == old)


async def raw_events(settings: Settings) -> list[tuple[int, str, dict[str, Any]]]:
    store = await open_store(settings)
    try:
        rows = await store.read(
            lambda tx: tx.fetchall("SELECT pos, type, data FROM events ORDER BY pos")
        )
    finally:
        await store.close()
    return [(int(r[0]), r[1], orjson.loads(r[2])) for r in rows]


@pytest.fixture
async def migrated(released: Settings) -> tuple[Settings, list[Any]]:
    """The released database migrated to now, and its events as the release stored them."""
    before = await raw_events(released)
    store = await open_store(released)
    try:
        applied = await store.migrate()
        assert applied, "every release so far predates a migration"
        assert await store.pending_migrations() == []
    finally:
        await store.close()
    return released, before


async def test_every_event_frames_to_the_data_its_release_sent(
    migrated: tuple[Settings, list[tuple[int, str, dict[str, Any]]]],
) -> None:
    settings, before = migrated
    assert {t for _, t, _ in before} >= {
        "message.created",
        "message.updated",
        "message.deleted",
        "reaction.added",
        "reaction.removed",
        "room.updated",
        "member.joined",
        "member.left",
        "member.updated",
        "read.updated",
    }, "the fixture should hold every event type 0.1.0 had (later releases: more)"
    store = await open_store(settings)
    try:
        deployment = await store.deployment_id()
        events = await store.read(functools.partial(list_after, after=0, limit=10_000))
    finally:
        await store.close()
    assert [e.pos for e in events] == [pos for pos, _, _ in before]
    for event, (_, type_name, data) in zip(events, before, strict=True):
        frame = orjson.loads(event_frame(event, deployment).json)
        check_frame(frame)
        assert frame["type"] == type_name
        assert extends(frame["data"], data), (
            f"{type_name} at {event.pos} lost what its release said"
        )
    stored = await raw_events(settings)
    assert all(payload["v"] == 1 for _, _, payload in stored)


async def test_an_idempotent_retry_of_a_released_send_replays_its_answer(
    migrated: tuple[Settings, list[Any]],
) -> None:
    settings, _ = migrated
    async with LifespanManager(create_app(settings)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.post(
                "/api/v1/sessions", json={"username": "bob", "password": "correct horse"}
            )
            assert r.status_code == 201, r.text
            auth = {"Authorization": f"Bearer {r.json()['token']}"}
            rooms = (await c.get("/api/v1/rooms?scope=public", headers=auth)).json()["rooms"]
            plans = next(room for room in rooms if room["name"] == "plans")  # bob left it
            history = await c.get(
                f"/api/v1/rooms/{plans['id']}/messages", headers=auth
            )  # public: readable without membership
            first, reply = history.json()["messages"][:2]
            retry = await c.post(
                f"/api/v1/rooms/{plans['id']}/messages",
                json={"text": "hi", "reply_to": first["id"]},
                headers={**auth, "Idempotency-Key": "k-1"},
            )
            assert retry.status_code == 201, retry.text
            assert retry.headers["idempotent-replayed"] == "true"
            assert retry.json() == reply, "the replay is the answer the release gave"
            again = await c.get(f"/api/v1/rooms/{plans['id']}/messages", headers=auth)
            assert again.json()["messages"][-1]["seq"] == history.json()["messages"][-1]["seq"]


# -- hubbub migrate --check -------------------------------------------------------------------


def migrate_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
    return subprocess.run(
        [sys.executable, "-m", "hubbub", "migrate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def applied_versions_of(settings: Settings) -> set[int]:
    store = await open_store(settings)
    try:
        return await store.read(applied_versions)
    finally:
        await store.close()


async def test_migrate_check_lists_what_would_run_applies_nothing_and_exits_1(
    released: Settings,
) -> None:
    before = await applied_versions_of(released)
    pending = [m for m in load_migrations() if m.version not in before]
    assert pending
    check = migrate_cli("--check", "--database-url", released.database_url)
    assert check.returncode == 1, check.stderr
    listed = [line.split() for line in check.stdout.splitlines() if line.startswith("  ")]
    assert [(int(v), name) for v, name, *_ in listed] == [(m.version, m.name) for m in pending]
    assert "rolling restart: no" in check.stdout  # 0003 rewrote the event log
    assert await applied_versions_of(released) == before, "--check applied something"
    assert migrate_cli("--database-url", released.database_url).returncode == 0
    again = migrate_cli("--check", "--database-url", released.database_url)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "up to date" in again.stdout


def test_migrate_check_on_a_missing_sqlite_file_says_all_would_run_and_makes_none(
    tmp_path: Path,
) -> None:
    check = migrate_cli("--check", "--database-url", f"sqlite:///{tmp_path / 'new' / 'h.db'}")
    assert check.returncode == 1
    assert "every migration would run" in check.stdout
    assert not (tmp_path / "new").exists()


def test_migrate_check_cannot_read_an_unreachable_database_and_exits_2() -> None:
    check = migrate_cli("--check", "--database-url", f"postgresql://h@127.0.0.1:{free_port()}/h")
    assert check.returncode == 2
    assert "cannot read the database" in check.stderr
    assert "Connection refused" in check.stderr


def test_which_migrations_allow_a_rolling_restart_is_what_the_upgrade_docs_say() -> None:
    """docs/deploy.md's table of migrations agrees with what each one declares."""
    docs = (Path(__file__).parents[1] / "docs" / "deploy.md").read_text()
    rows = re.findall(r"^\| `(\d{4})_([a-z0-9_]+)` \| (yes|no) \|", docs, re.MULTILINE)
    assert [(int(v), name, rolling == "yes") for v, name, rolling in rows] == [
        (m.version, m.name, m.rolling) for m in load_migrations()
    ]


async def test_a_released_databases_messages_are_found_once_the_backfill_has_run(
    migrated: tuple[Settings, list[Any]],
) -> None:
    """0012 makes the search index empty; the backfill (the server runs it at start) indexes
    the release's live messages, by their current text, and no deleted one."""
    settings, _ = migrated
    store = await open_store(settings)
    try:
        search = SearchService(UnitOfWork(store, SystemClock(), MemoryBus()))
        alice = await store.read(lambda tx: find_user_by_username(tx, "alice"))
        assert alice is not None
        assert (await search.search(alice, "hello")).hits == []  # not indexed yet
        assert await search.backfill_all() > 0
        assert await search.backfill() == 0

        async def texts(query: str) -> list[str]:
            page = await search.search(alice, query, scope="all")
            return [hit.message.text for hit in page.hits]

        assert await texts("classic API") == ["from the classic API"]
        assert await texts("hello all") == ["hello, all"]
        assert await texts("cafe") == []  # the text before its edit
        assert await texts("oops") == []  # deleted
    finally:
        await store.close()


async def test_0015_replaces_sqlites_fts5_index_by_postings_and_rebuilds_it(
    tmp_path: Path,
) -> None:
    """A database indexed by FTS5 (0012-0014): 0015 drops FTS5's tables (and what they held)
    and the backfill indexes the live messages again, into the postings table."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'fts5.db'}", password_hashing="fast")
    store = await open_store(settings)

    def as_of_0014(tx: Any) -> None:
        tx.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at BIGINT NOT NULL)"
        )
        for migration in load_migrations():
            if migration.version <= 14:
                migration.apply(tx)
                tx.execute(
                    "INSERT INTO schema_migrations VALUES (:v, :n, 0)",
                    {"v": migration.version, "n": migration.name},
                )
        tx.execute(
            "INSERT INTO users (id, username, username_key, display_name, password_hash,"
            " created_at) VALUES ('u_alice', 'alice', 'alice', 'alice', 'x', 0)"
        )
        tx.execute(
            "INSERT INTO rooms (id, name, visibility, kind, created_at)"
            " VALUES ('r_1', 'general', 'public', 'room', 0)"
        )
        tx.execute(
            "INSERT INTO members (room_id, user_id, role, joined_at)"
            " VALUES ('r_1', 'u_alice', 'member', 0)"
        )
        for seq, text in enumerate(["the fts5 era quokka", "quokka again"], start=1):
            tx.execute(
                "INSERT INTO messages (id, room_id, seq, author_id, text, created_at)"
                " VALUES (:id, 'r_1', :seq, 'u_alice', :text, :seq)",
                {"id": f"m_{seq}", "seq": seq, "text": text},
            )
            doc = tx.fetchone(
                "INSERT INTO search_docs (message_id, room_id, author_id, created_at)"
                " VALUES (:id, 'r_1', 'u_alice', :seq) RETURNING doc",
                {"id": f"m_{seq}", "seq": seq},
            )
            assert doc is not None
            tx.execute(
                "INSERT INTO search_fts (rowid, words) VALUES (:d, :w)", {"d": doc[0], "w": text}
            )

    def tables(tx: Any) -> set[str]:
        rows = tx.fetchall("SELECT name FROM sqlite_master WHERE name LIKE 'search%'")
        return {str(r[0]) for r in rows}

    try:
        await store.write(as_of_0014)
        assert "search_fts_data" in await store.read(tables)
        await store.migrate()
        found = await store.read(tables)
        assert "search_postings" in found
        assert not any(name.startswith("search_fts") for name in found)
        search = SearchService(UnitOfWork(store, SystemClock(), MemoryBus()))
        alice = await store.read(lambda tx: find_user_by_username(tx, "alice"))
        assert alice is not None
        assert (await search.search(alice, "quokka")).hits == []  # not indexed yet
        assert await search.backfill_all() == 2
        page = await search.search(alice, "quokka")
        assert [hit.message.text for hit in page.hits] == ["quokka again", "the fts5 era quokka"]
        assert [h.message.text for h in (await search.search(alice, '"fts5 era"')).hits] == [
            "the fts5 era quokka"
        ]
    finally:
        await store.close()
