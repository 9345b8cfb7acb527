"""`hubbub serve --workers 2`: two worker processes on one port, SQLite or PostgreSQL, Redis.

Which worker holds a connection is read from the operating system, not asked of the server:
the server side of a TCP connection (/proc/net/tcp: our port, the client's port) is a socket
inode, and exactly one worker process has a file descriptor on it. A stream or client is kept
for a test only once it is seen on the worker the test wants; the servers run with the
database poll off, so an event crosses between workers only through the Redis bus (or the
log read a resumed or reconnected stream does).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.realtime.conftest import (
    API,
    FAST_ENV,
    Account,
    Chat,
    EventStream,
    SseStream,
    Transport,
    WsStream,
    collect,
    next_durable,
)
from tests.server_process import ServerProcess

pytestmark = pytest.mark.anyio

READY = re.compile(r"(\d+) workers ready \(pids ([\d, ]+)\)")
ATTEMPTS = 64  # new connections tried before giving up on landing one on a given worker


# -- which worker holds a connection ---------------------------------------------------------


def _server_side_inode(server_port: int, client_port: int) -> int | None:
    """The inode of the server's end of the 127.0.0.1 connection from `client_port`."""
    want_local, want_remote = f"{server_port:04X}", f"{client_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
        ours = local.endswith(":" + want_local) and remote.endswith(":" + want_remote)
        if ours and state == "01":  # ESTABLISHED
            return int(inode)
    return None


def _holder(inode: int, pids: list[int]) -> int | None:
    link = f"socket:[{inode}]"
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except FileNotFoundError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == link:
                    return pid
            except FileNotFoundError:
                continue
    return None


@dataclass
class Workers:
    server: ServerProcess
    pids: list[int]

    async def holder(self, client_port: int) -> int:
        """The worker process that accepted the connection from `client_port` (it may take
        a moment to accept it)."""
        with anyio.fail_after(5):
            while True:
                inode = _server_side_inode(self.server.port, client_port)
                if inode is not None and (pid := _holder(inode, self.pids)) is not None:
                    return pid
                await anyio.sleep(0.01)

    async def client_on(self, pid: int) -> httpx.AsyncClient:
        """An HTTP client whose one keep-alive connection is held by worker `pid`."""
        for _ in range(ATTEMPTS):
            client = httpx.AsyncClient(
                base_url=self.server.url,
                timeout=30,
                trust_env=False,
                limits=httpx.Limits(max_connections=1, keepalive_expiry=60),
            )
            r = await client.get("/healthz")
            if await self.holder(port_of(r)) == pid:
                return client
            await client.aclose()
        raise AssertionError(f"no connection landed on worker {pid}")

    @asynccontextmanager
    async def stream_on(
        self, pid: int, chat: Chat, transport: Transport, account: Account, since: str | None
    ) -> AsyncIterator[EventStream]:
        """A live stream (past its hello) held by worker `pid`."""
        for _ in range(ATTEMPTS):
            async with AsyncExitStack() as stack:
                stream = await stack.enter_async_context(chat.stream(transport, account, since))
                if await self.holder(stream_port(stream)) == pid:
                    yield stream
                    return
        raise AssertionError(f"no {transport} stream landed on worker {pid}")


def port_of(response: httpx.Response) -> int:
    """The client's port of the connection a response came on."""
    return int(response.extensions["network_stream"].get_extra_info("client_addr")[1])


def stream_port(stream: EventStream) -> int:
    if isinstance(stream, WsStream):
        return int(stream.ws.local_address[1])
    assert isinstance(stream, SseStream)
    return port_of(stream.response)


def wait_ready(server: ServerProcess, count: int = 1) -> list[int]:
    """The worker pids of the `count`-th "N workers ready (pids ...)" line of the log."""
    assert server.log_path is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = READY.findall(server.log_path.read_text(errors="replace"))
        if len(found) >= count:
            return [int(p) for p in found[count - 1][1].split(", ")]
        time.sleep(0.05)
    raise AssertionError("the workers did not become ready:\n" + server.log_path.read_text())


def start_workers(tmp_path: Path, database_url: str, redis_url: str, **env: str) -> ServerProcess:
    server = ServerProcess(
        database_url,
        log_path=tmp_path / "server.log",
        env={**FAST_ENV, "HUBBUB_REDIS_URL": redis_url, **env},
        args=["--workers", "2"],
    )
    return server.start(timeout=60)


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def workers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_server: str
) -> Iterator[Workers]:
    """`hubbub serve --workers 2` on each database engine, for this module's tests."""
    directory = tmp_path_factory.mktemp("workers")
    url = f"sqlite:///{directory / 'hubbub.db'}"
    if request.param == "postgres":
        url = request.getfixturevalue("pg_databases").create_empty()
    server = start_workers(directory, url, redis_server)
    try:
        pids = wait_ready(server)
        assert len(set(pids)) == 2
        yield Workers(server, pids)
    finally:
        server.stop()


@pytest.fixture
async def chat(workers: Workers) -> AsyncIterator[Chat]:
    async with Chat.open(workers.server.url) as c:
        yield c


async def send_via(client: httpx.AsyncClient, account: Account, room: str, text: str) -> Any:
    r = await client.post(
        f"{API}/rooms/{room}/messages", json={"text": text}, headers=account.headers
    )
    assert r.status_code == 201, r.text
    return r.json()


async def room_with_two(chat: Chat) -> tuple[Account, Account, str]:
    alice, bob = await chat.sign_up("alice"), await chat.sign_up("bob")
    room = (await alice.create_room("workers"))["id"]
    await bob.expect(204, "POST", f"/rooms/{room}/join")
    return alice, bob, room


# -- tests ---------------------------------------------------------------------------------


def test_without_redis_more_than_one_worker_is_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
    done = subprocess.run(
        [sys.executable, "-m", "hubbub", "serve", "--workers", "2", "--port", "0"],
        env=env | {"HUBBUB_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "workers=2 needs HUBBUB_REDIS_URL" in done.stderr
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened


async def test_both_workers_accept_connections(workers: Workers) -> None:
    server = workers.server
    assert server.proc is not None
    for pid in workers.pids:  # the announced pids are the server's own children
        assert _stat(pid)[1] == str(server.proc.pid)
    holders = []
    conns = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(16)]
    try:
        for conn in conns:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: hubbub\r\n\r\n")
            assert conn.recv(64).startswith(b"HTTP/1.1 200")
            holders.append(await workers.holder(conn.getsockname()[1]))
    finally:
        for conn in conns:
            conn.close()
    # Sixteen connections spread by the kernel's hash: all on one worker has odds 2**-15.
    assert set(holders) == set(workers.pids)


async def test_a_message_sent_through_one_worker_reaches_streams_on_the_other(
    workers: Workers, chat: Chat
) -> None:
    one, other = workers.pids
    alice, bob, room = await room_with_two(chat)
    sender = await workers.client_on(one)
    try:
        async with (
            workers.stream_on(other, chat, "ws", alice, None) as ws,
            workers.stream_on(other, chat, "sse", alice, None) as sse,
        ):
            sent = await send_via(sender, bob, room, "across workers")
            for stream in (ws, sse):
                event = await next_durable(stream)
                assert event["type"] == "message.created"
                assert event["data"]["id"] == sent["id"]
                again = await collect(stream, 1.0, types={"message.created"})
                assert again == []  # once
    finally:
        await sender.aclose()


async def test_a_stream_resumed_on_the_other_worker_gets_each_missed_event_once(
    workers: Workers, chat: Chat
) -> None:
    one, other = workers.pids
    alice, bob, room = await room_with_two(chat)
    clients = {pid: await workers.client_on(pid) for pid in workers.pids}
    try:
        async with workers.stream_on(one, chat, "ws", alice, None) as ws:
            first = await send_via(clients[one], bob, room, "m0")
            assert (await next_durable(ws))["data"]["id"] == first["id"]
            cursor = ws.cursor
        # Missed while away, sent through both workers; then resumed on the other one.
        missed = [
            await send_via(clients[(one, other)[i % 2]], bob, room, f"m{i}") for i in range(1, 7)
        ]
        async with workers.stream_on(other, chat, "ws", alice, cursor) as ws:
            got = await collect(ws, 1.0, types={"message.created"})
            assert [e["data"]["id"] for e in got] == [m["id"] for m in missed]
            cursor = ws.cursor
        # Again over SSE (Last-Event-ID), back on the first worker, and then live.
        missed = [await send_via(clients[other], bob, room, f"n{i}") for i in range(3)]
        async with workers.stream_on(one, chat, "sse", alice, cursor) as sse:
            got = await collect(sse, 1.0, types={"message.created"})
            assert [e["data"]["id"] for e in got] == [m["id"] for m in missed]
            live = await send_via(clients[other], bob, room, "live")
            got = await collect(sse, 1.0, types={"message.created"})
            assert [e["data"]["id"] for e in got] == [live["id"]]
    finally:
        for client in clients.values():
            await client.aclose()


async def test_seq_stays_gapless_under_concurrent_sends_through_both_workers(
    workers: Workers, chat: Chat
) -> None:
    alice, bob, room = await room_with_two(chat)
    clients = [await workers.client_on(pid) for pid in workers.pids]
    seqs: list[int] = []
    last: dict[int, httpx.Response] = {}

    async def sender(index: int, count: int) -> None:
        client = clients[index % 2]
        for i in range(count):
            r = await client.post(
                f"{API}/rooms/{room}/messages",
                json={"text": f"{index}-{i}"},
                headers=(alice, bob)[index % 2].headers,
            )
            assert r.status_code == 201, r.text
            seqs.append(int(r.json()["seq"]))
            last[index % 2] = r

    try:
        async with anyio.create_task_group() as tg:
            for index in range(8):  # 4 concurrent senders on each worker's connection
                tg.start_soon(sender, index, 15)
        # Each client's sends stayed on its worker (its connection was never replaced).
        assert [await workers.holder(port_of(last[i])) for i in (0, 1)] == workers.pids
    finally:
        for client in clients:
            await client.aclose()
    assert sorted(seqs) == list(range(1, 121))
    page = await alice.get(f"/rooms/{room}/messages", params={"limit": 200})
    assert [m["seq"] for m in page.json()["messages"]] == list(range(1, 121))


def test_a_killed_worker_is_replaced_and_sigterm_stops_every_worker(
    tmp_path: Path, redis_url: str
) -> None:
    server = start_workers(
        tmp_path, f"sqlite:///{tmp_path / 'hubbub.db'}", redis_url, HUBBUB_LOG_LEVEL="info"
    )
    assert server.log_path is not None
    assert server.proc is not None
    try:
        pids = wait_ready(server)
        os.kill(pids[0], signal.SIGKILL)
        deadline = time.monotonic() + 60
        replaced = re.compile(r"worker 0 \(pid (\d+)\) ready")
        while True:
            log = server.log_path.read_text(errors="replace")
            found = [int(p) for p in replaced.findall(log) if int(p) != pids[0]]
            if found:
                break
            assert time.monotonic() < deadline, log
            time.sleep(0.05)
        assert f"worker 0 (pid {pids[0]}) exited with -9; starting it again" in log
        new = found[0]
        workers = [new, pids[1]]
        for _ in range(8):  # still serving
            assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
    finally:
        seconds = server.stop()
    assert server.proc.returncode == 0
    assert seconds < 10
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid)
    assert "Application shutdown complete" in server.log_path.read_text()


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name: state, parent pid, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _is_zombie(pid: int) -> bool:
    try:
        return _stat(pid)[0] == "Z"
    except FileNotFoundError:
        return True
