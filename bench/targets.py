"""The two servers set up for a real-time run (accounts, rooms, subscribers' stream paths), the
warm-up that proves every subscription live, and the open-loop sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from http_pool import Http
from ws_client import Tally, now_ns

TEXT_CHARS = 200
LOBBY = "general"  # hubbub's lobby: every new account is a member
PASSWORD = "bench-password"
LIVE_TIMEOUT = 30.0  # seconds for every subscriber's hello (10,000 take a few seconds)


@dataclass(slots=True)
class Target:
    """A server set up for a run: where each subscriber connects, how to post to a room."""

    kind: str
    http: Http
    rooms: list[str]  # room keys, by index
    ws_paths: list[str]  # one per subscriber
    token: str | None = None  # the sender's (hubbub)

    def post(self, room: int, text: Callable[[], str]) -> Awaitable[tuple[int, bytes]]:
        key = self.rooms[room]
        if self.kind == "bare":
            return self.http.request("POST", f"/send?room={key}", lambda: text().encode())
        return self.http.request(
            "POST",
            f"/api/v1/rooms/{key}/messages",
            lambda: json.dumps({"text": text()}).encode(),
            self.token,
        )

    @property
    def ok(self) -> int:
        return 200 if self.kind == "bare" else 201


async def set_up(kind: str, port: int, layout: Sequence[int], tag: str) -> Target:
    """`layout[i]` subscribers in room i; `tag` prefixes usernames and room names (scenarios
    can share a server: --quick).

    hubbub: one account per subscriber, which joins its room and leaves the lobby `general`
    that every new account is put in; otherwise each connecting subscriber's presence would go
    to every connected one (N^2/2 frames for N subscribers: see the module's docs).
    """
    http = Http(port)
    if kind == "bare":
        rooms = [f"{tag}{i}" for i in range(len(layout))]
        paths = [f"/ws?room={rooms[i]}" for i, n in enumerate(layout) for _ in range(n)]
        return Target(kind, http, rooms, paths)
    sender = await http.json(
        "POST", "/api/v1/accounts", {"username": f"{tag}-sender", "password": PASSWORD}, None, 201
    )
    token = sender["token"]
    made = await asyncio.gather(
        *(
            http.json(
                "POST", "/api/v1/rooms", {"name": f"{tag} {i}", "visibility": "public"}, token, 201
            )
            for i in range(len(layout))
        )
    )
    rooms = [room["id"] for room in made]

    async def subscriber(number: int, room: str) -> str:
        account = {"username": f"{tag}{number}", "password": PASSWORD}
        me = (await http.json("POST", "/api/v1/accounts", account, None, 201))["token"]
        await http.json("POST", f"/api/v1/rooms/{room}/join", None, me, 204)
        await http.json("POST", f"/api/v1/rooms/{LOBBY}/leave", None, me, 204)
        return f"/api/v1/stream?access_token={me}"

    where = [rooms[i] for i, n in enumerate(layout) for _ in range(n)]
    paths = await asyncio.gather(*(subscriber(k, room) for k, room in enumerate(where)))
    return Target(kind, http, rooms, list(paths), token)


def message_text(kind: str, number: int) -> Callable[[], str]:
    """The text of message `number`, stamped when called; `kind` "T" measured, "W" warm-up."""

    def text() -> str:
        head = f"~{kind}{now_ns()}~{number}~"
        return head + "x" * (TEXT_CHARS - len(head))

    return text


async def warm_up(
    target: Target, layout: Sequence[int], tally: Tally, clients: int, settle: float = 0.2
) -> int:
    """Post to every room until every subscriber has received something: subscriptions are live
    (hubbub subscribes after the 101). Returns the number of warm-up rounds.

    A server that says when a subscription is live (hubbub's hello frame) is taken at its word:
    a round is posted once every subscriber's hello is in, and a hello that comes only after a
    round was posted (that subscriber missed it) ends the round early. From a server that sends
    no hello (the bare one, hubbub before it had one) a round is posted every 5 s until each
    subscriber received one."""
    tally.warm_target = clients
    for attempt in range(1, 6):
        if tally.hellos:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(LIVE_TIMEOUT):
                    await tally.wait_live(clients)
        hellos_at_post = tally.hellos
        posted = await asyncio.gather(
            *(target.post(i, message_text("W", -i)) for i, n in enumerate(layout) if n)
        )
        for status, body in posted:
            if status != target.ok:
                raise RuntimeError(f"warm-up post failed: HTTP {status} {body[:200]!r}")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await _round_received(tally, clients, hellos_at_post)
        if tally.warmed >= clients:
            await asyncio.sleep(settle)  # let stragglers (presence, duplicates) pass
            return attempt
    raise RuntimeError(f"only {tally.warmed} of {clients} subscribers ever received a message")


async def _round_received(tally: Tally, clients: int, hellos_at_post: int) -> None:
    """Return once every subscriber received a warm-up message, or once every one is live and
    some said hello only after the round was posted: they missed it, another round is due.
    (Every warm subscriber is live, so waiting for all to be live first costs nothing.)"""
    warm = asyncio.ensure_future(tally.all_warm.wait())
    try:
        await tally.wait_live(clients)
        if tally.hellos == hellos_at_post:
            await warm
    finally:
        warm.cancel()


async def send_plan(
    target: Target, plan: Sequence[int], rate: float
) -> tuple[float, int, list[str]]:
    """Post message k into room plan[k] at `rate` per second, open loop (up to HTTP_POOL in
    flight). Returns (achieved rate, errors, first error texts)."""
    loop = asyncio.get_running_loop()
    errors: list[str] = []

    async def one(k: int, room: int) -> None:
        status, body = await target.post(room, message_text("T", k))
        if status != target.ok:
            errors.append(f"HTTP {status} {body[:200]!r}")

    tasks = []
    start = loop.time()
    for k, room in enumerate(plan):
        delay = start + k / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(k, room)))
    issued = loop.time() - start
    results = await asyncio.gather(*tasks, return_exceptions=True)
    errors += [repr(r) for r in results if isinstance(r, BaseException)]
    achieved = (len(plan) - 1) / issued if len(plan) > 1 and issued > 0 else rate
    return achieved, len(errors), errors[:3]
