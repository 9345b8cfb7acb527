"""A client that stops reading is cut off with a clear close code and reason once its bounded
buffer overflows; it resumes from its last cursor losing nothing; and it never delays the
other subscribers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.realtime.conftest import (
    Chat,
    EventStream,
    hubbub_server,
    is_durable,
    position,
    read_until_closed,
)
from tests.server_process import ServerProcess

pytestmark = pytest.mark.anyio

BUFFER = 5
CLOSE_SLOW = 4008
TEXT = "x" * 250_000


def messages_to_fill_the_socket() -> int:
    """A client that stops reading holds the server up only once the kernel's buffers are
    full: the server's send buffer grows up to tcp_wmem's maximum (4 MB by default). Send
    well over that, in big messages, plus the stream buffer."""
    try:
        wmem_max = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, IndexError, ValueError):
        wmem_max = 4 * 1024 * 1024
    return max(40, (2 * wmem_max) // len(TEXT) + BUFFER + 5)


MESSAGES = messages_to_fill_the_socket()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("slow")
    with hubbub_server(
        directory,
        HUBBUB_STREAM_BUFFER=str(BUFFER),
        HUBBUB_MESSAGE_TEXT_MAX="300000",
        HUBBUB_MAX_BODY_BYTES="400000",
    ) as running:
        yield running


async def read_all(
    stream: EventStream,
    want: int,
    into: list[tuple[float, dict[str, Any]]],
    done: anyio.Event | None = None,
    within: float = 10.0,
) -> None:
    """Append (arrival time, event) for each durable event until `want` have come (giving up
    after `within` quiet seconds); then set `done`."""
    while len(into) < want:
        event = await stream.next_event(within)
        if event is None:
            break
        if is_durable(event):
            into.append((time.monotonic(), event))
    if done is not None:
        done.set()


async def test_unread_websocket_is_closed_4008_then_resumes_with_every_event_once(
    chat: Chat,
) -> None:
    alice, slow_user, fast_user = (
        await chat.sign_up("alice"),
        await chat.sign_up("slow"),
        await chat.sign_up("fast"),
    )
    room = (await alice.create_room("busy", "private"))["id"]
    for user in (slow_user, fast_user):
        await alice.expect(201, "PUT", f"/rooms/{room}/members/{user.username}")
    start = await chat.head(slow_user)

    sent: list[tuple[float, dict[str, Any]]] = []
    fast_ws: list[tuple[float, dict[str, Any]]] = []
    fast_sse: list[tuple[float, dict[str, Any]]] = []
    fast_done = (anyio.Event(), anyio.Event())
    async with (
        chat.ws(slow_user, start, rcvbuf=4096) as slow,
        chat.ws(fast_user, start) as fast_a,
        chat.sse(fast_user, last_event_id=start) as fast_b,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(read_all, fast_a, MESSAGES, fast_ws, fast_done[0])
        tg.start_soon(read_all, fast_b, MESSAGES, fast_sse, fast_done[1])
        # The slow client reads nothing while the messages are produced.
        for i in range(MESSAGES):
            message = await alice.send(room, f"{i} {TEXT}")
            sent.append((time.monotonic(), message))
        with anyio.fail_after(10):
            for done in fast_done:
                await done.wait()
        # Only now does the slow client read: what reached it, then the close.
        events, ended = await read_until_closed(slow)
        first_part = [e for e in events if is_durable(e)]
        cursor = slow.cursor
    assert ended.code == CLOSE_SLOW
    assert "slow" in ended.reason
    assert len(first_part) < MESSAGES, "the slow client got everything: nothing overflowed"

    async with chat.ws(slow_user, cursor) as resumed:
        rest: list[tuple[float, dict[str, Any]]] = []
        await read_all(resumed, MESSAGES - len(first_part), rest)
    got = [e["data"]["id"] for e in first_part + [e for _, e in rest]]
    assert got == [m["id"] for _, m in sent], "each message exactly once, in order"
    ids = [position(e["id"]) for e in first_part + [e for _, e in rest]]
    assert ids == sorted(set(ids))

    # The fast subscribers got everything, in order, each soon after it was sent.
    for received in (fast_ws, fast_sse):
        assert [e["data"]["id"] for _, e in received] == [m["id"] for _, m in sent]
        delays = [
            got_at - sent_at for (sent_at, _), (got_at, _) in zip(sent, received, strict=True)
        ]
        assert max(delays) < 2.0, f"a fast subscriber waited {max(delays):.2f} s"
