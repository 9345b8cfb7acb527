"""History paging by seq: exact ranges, has_more flags, complete back-paging under writes."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

from tests.api.conftest import Account, assert_problem

pytestmark = pytest.mark.anyio


async def fill(account: Account, room_id: str, n: int) -> None:
    for i in range(1, n + 1):
        await account.send(room_id, f"m{i}")


async def page(account: Account, room_id: str, **params: int) -> dict[str, Any]:
    r = await account.get(f"/rooms/{room_id}/messages", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def seqs(body: dict[str, Any]) -> list[int]:
    return [m["seq"] for m in body["messages"]]


async def test_empty_room(alice: Account) -> None:
    room = await alice.create_room()
    assert await page(alice, room["id"]) == {
        "messages": [],
        "has_more_before": False,
        "has_more_after": False,
    }


async def test_newest_page_by_default(alice: Account) -> None:
    room = await alice.create_room()
    await fill(alice, room["id"], 7)
    body = await page(alice, room["id"], limit=3)
    assert seqs(body) == [5, 6, 7]
    assert (body["has_more_before"], body["has_more_after"]) == (True, False)
    body = await page(alice, room["id"])
    assert seqs(body) == list(range(1, 8))
    assert (body["has_more_before"], body["has_more_after"]) == (False, False)


async def test_before_and_after_cursors(alice: Account) -> None:
    room = await alice.create_room()
    await fill(alice, room["id"], 10)
    body = await page(alice, room["id"], before=5, limit=3)
    assert seqs(body) == [2, 3, 4]
    assert (body["has_more_before"], body["has_more_after"]) == (True, True)
    body = await page(alice, room["id"], before=3, limit=5)
    assert seqs(body) == [1, 2]
    assert (body["has_more_before"], body["has_more_after"]) == (False, True)
    body = await page(alice, room["id"], after=7, limit=5)
    assert seqs(body) == [8, 9, 10]
    assert (body["has_more_before"], body["has_more_after"]) == (True, False)
    body = await page(alice, room["id"], after=2, limit=3)
    assert seqs(body) == [3, 4, 5]
    assert (body["has_more_before"], body["has_more_after"]) == (True, True)
    body = await page(alice, room["id"], after=2, before=5, limit=50)
    assert seqs(body) == [3, 4]
    body = await page(alice, room["id"], after=10)
    assert (seqs(body), body["has_more_before"], body["has_more_after"]) == ([], True, False)
    body = await page(alice, room["id"], before=1)
    assert (seqs(body), body["has_more_before"], body["has_more_after"]) == ([], False, True)
    body = await page(alice, room["id"], before=100, limit=2)
    assert seqs(body) == [9, 10]


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 201}, {"before": -1}, {"after": -2}, {"limit": "x"}]
)
async def test_bad_paging_params_are_422(alice: Account, params: dict[str, Any]) -> None:
    assert_problem(await alice.get("/rooms/general/messages", params=params), 422, "invalid")


async def test_paging_back_returns_every_message_once_while_others_send(
    alice: Account, bob: Account
) -> None:
    room = await alice.create_room()
    assert (await bob.post(f"/rooms/{room['id']}/join")).status_code == 204
    await fill(alice, room["id"], 45)
    seen: list[int] = []

    async def writer() -> None:
        for i in range(30):
            await bob.send(room["id"], f"late {i}")

    async def reader() -> None:
        body = await page(alice, room["id"], limit=7)
        seen.extend(reversed(seqs(body)))
        while body["has_more_before"]:
            body = await page(alice, room["id"], before=min(seqs(body)), limit=7)
            seen.extend(reversed(seqs(body)))
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(writer)
        tg.start_soon(reader)
    assert len(seen) == len(set(seen))
    assert sorted(seen) == list(range(1, max(seen) + 1))
    assert max(seen) >= 45


async def test_empty_room_has_nothing_either_side_of_any_cursor(alice: Account) -> None:
    room = await alice.create_room()
    for params in ({"before": 0}, {"before": 5}, {"after": 0}):
        body = await page(alice, room["id"], **params)
        assert body == {"messages": [], "has_more_before": False, "has_more_after": False}
