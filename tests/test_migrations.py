"""Migrations on databases made by earlier releases (tests/fixtures/), on both engines.

0003 rewrote the event log and the stored idempotent answers from the API's wire shape to
versioned domain payloads: after it, every stored event decodes, frames to exactly the `data`
clients received from 0.1.0 (and the fields added since), and matches the published Event
schema; an idempotent retry of a
0.1.0 send replays the original answer.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager

from hubbub.app import create_app, open_store
from hubbub.config import Settings
from hubbub.realtime.frames import event_frame
from hubbub.store.events import list_after
from tests.backends import Databases, _pg_bindir
from tests.event_schema import check_frame

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).parent / "fixtures"
RELEASE = "0.1.0"


@pytest.fixture(params=["sqlite", "postgres"])
def released(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a copy of the database release 0.1.0 made (tests/fixtures/README.md)."""
    if request.param == "sqlite":
        path = tmp_path / "released.db"
        shutil.copyfile(FIXTURES / f"release-{RELEASE}.sqlite", path)
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
            str(FIXTURES / f"release-{RELEASE}.pg.sql"),
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
    """The released database migrated to now, and its events as 0.1.0 stored them."""
    before = await raw_events(released)
    store = await open_store(released)
    try:
        assert 3 in await store.migrate()
        assert await store.pending_migrations() == []
    finally:
        await store.close()
    return released, before


async def test_every_event_frames_to_the_data_release_0_1_0_sent(
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
    }, "the fixture should hold every event type 0.1.0 had"
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
        assert extends(frame["data"], data), f"{type_name} at {event.pos} lost what 0.1.0 said"
    stored = await raw_events(settings)
    assert all(payload["v"] == 1 for _, _, payload in stored)


async def test_an_idempotent_retry_of_a_0_1_0_send_replays_its_answer(
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
            assert retry.json() == reply, "the replay is the answer 0.1.0 gave"
            again = await c.get(f"/api/v1/rooms/{plans['id']}/messages", headers=auth)
            assert again.json()["messages"][-1]["seq"] == history.json()["messages"][-1]["seq"]
