"""Several worker processes on one port: `hubbub serve --workers N` (HUBBUB_WORKERS).

The parent applies the migrations (once, before any worker starts), binds the port, and starts
N children: fresh interpreters (multiprocessing's spawn), each given the Settings (pickled) and
its listening socket. Each child is a node in the cluster sense: its own app, hub, Redis bus
connection and node id, served by uvicorn with serving's protocol, limits and gc tuning. Live
events, ephemerals and rate-limit budgets cross between workers through Redis (which is why
more than one worker needs HUBBUB_REDIS_URL); jobs that must run once per cluster hold leases
in the database, as they do across machines.

The port: N sockets bound with SO_REUSEPORT, one per worker, all made and kept by the parent.
The kernel spreads new connections over them by a hash of the addresses; one socket shared by
every worker would let whichever worker wakes first accept a whole burst (asyncio accepts up
to 100 at a time), so a benchmark's 32 connections could all land on one worker. Because the
parent keeps the sockets, a worker's queued connections wait for its replacement.

The parent only supervises. SIGTERM or Ctrl-C: every worker gets SIGTERM and shuts down
gracefully (serving's graceful_shutdown_seconds); the parent waits, then kills what is left.
A worker that exits on its own is logged and started again, unless it had not become ready
yet (a worker that cannot start will not start the next time either): then every worker is
stopped and `run` returns 1.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

import uvicorn

from hubbub import serving
from hubbub.app import create_app, migrate_when_reachable, open_store
from hubbub.clock import SystemClock
from hubbub.config import Settings
from hubbub.logs import configure_logging

__all__ = ["bind", "run"]

log = logging.getLogger(__name__)

# On top of graceful_shutdown_seconds: how long the parent waits for the workers to finish
# their lifespan shutdown (closing the database and Redis) before it kills them.
STOP_MARGIN_SECONDS = 10.0


def bind(settings: Settings, count: int) -> list[socket.socket]:
    """`count` listening sockets on settings.host:port, with SO_REUSEPORT (port 0: the first
    one's port). Listening at once, so connections queue until a worker accepts them."""
    host, port = settings.host, settings.port
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sockets: list[socket.socket] = []
    for _ in range(count):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(2048)  # uvicorn's default backlog
        port = sock.getsockname()[1]
        sockets.append(sock)
    return sockets


class _WorkerServer(uvicorn.Server):
    """uvicorn's server that tells the parent once it serves (its lifespan started)."""

    def __init__(self, config: uvicorn.Config, ready: Connection) -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:
            self.ready.send(os.getpid())
        self.ready.close()


def _serve_worker(settings: Settings, index: int, sock: socket.socket, ready: Connection) -> None:
    """A worker process: the app on `sock` until SIGTERM (the entry point of each child)."""
    configure_logging(settings.log_format, settings.log_level)
    if settings.metrics_port is not None:  # one /metrics listener per process
        settings = settings.replace(metrics_port=settings.metrics_port + index)
    app = create_app(settings)
    limits = serving.fit_connections(serving.Limits.of(settings))
    options = serving.uvicorn_options(settings, serving.protocol_class(limits))
    server = _WorkerServer(uvicorn.Config(app, **options), ready)
    serving.tune_gc()
    server.run(sockets=[sock])


@dataclass
class _Worker:
    index: int
    pid: int
    process: BaseProcess
    ready: Connection | None  # None once read: it said it was ready, or it exited
    is_ready: bool = False


async def _migrate(settings: Settings) -> list[int]:
    store = await open_store(settings)
    try:
        return await migrate_when_reachable(store, settings.database_wait_seconds)
    finally:
        await store.close()


class _Supervisor:
    def __init__(
        self,
        settings: Settings,
        sockets: list[socket.socket],
        on_ready: Callable[[list[int]], None] | None,
    ) -> None:
        self.settings = settings
        self.on_ready = on_ready
        self.sockets = sockets
        self.context = multiprocessing.get_context("spawn")
        self.workers: list[_Worker] = []
        self.stopping = False

    def start(self, index: int) -> _Worker:
        reader, writer = self.context.Pipe(duplex=False)
        process = self.context.Process(
            target=_serve_worker,
            args=(self.settings, index, self.sockets[index], writer),
            name=f"hubbub-worker-{index}",
        )
        process.start()
        writer.close()  # the child has its copy: EOF here when it exits
        worker = _Worker(index, process.pid or 0, process, reader)
        log.info("worker %d started (pid %d)", index, worker.pid)
        return worker

    def supervise(self) -> int:
        """Run until a signal (0) or a worker that could not start (1)."""
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        previous_fd = signal.set_wakeup_fd(wake_w)
        handlers = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            self.workers = [self.start(i) for i in range(len(self.sockets))]
            return self._loop(wake_r)
        finally:
            self._stop_all()
            signal.set_wakeup_fd(previous_fd)
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            os.close(wake_r)
            os.close(wake_w)

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stopping = True

    def _loop(self, wake_r: int) -> int:
        announced = False
        while not self.stopping:
            waitables: list[object] = [wake_r]
            for w in self.workers:
                waitables.append(w.process.sentinel)
                if w.ready is not None:
                    waitables.append(w.ready)
            wait(waitables)  # type: ignore[arg-type]
            while True:  # the signal's wake-up bytes
                try:
                    if not os.read(wake_r, 64):
                        break
                except BlockingIOError:
                    break
            for i, w in enumerate(self.workers):
                self._read_ready(w)
                if self.stopping or w.process.is_alive():
                    continue
                code = w.process.exitcode
                if not w.is_ready:
                    log.error(
                        "worker %d (pid %d) exited with %s before it was ready; stopping",
                        w.index,
                        w.pid,
                        code,
                    )
                    return 1
                log.error(
                    "worker %d (pid %d) exited with %s; starting it again", w.index, w.pid, code
                )
                self.workers[i] = self.start(w.index)
            if not announced and all(w.is_ready for w in self.workers):
                announced = True
                if self.on_ready is not None:
                    self.on_ready([w.pid for w in self.workers])
        return 0

    @staticmethod
    def _read_ready(worker: _Worker) -> None:
        conn = worker.ready
        if conn is None or not conn.poll():
            return
        try:
            conn.recv()
            worker.is_ready = True
            log.info("worker %d (pid %d) ready", worker.index, worker.pid)
        except EOFError:  # it exited (before or after saying it was ready)
            pass
        conn.close()
        worker.ready = None

    def _stop_all(self) -> None:
        """SIGTERM to every live worker, wait for them (they shut down gracefully), then
        SIGKILL what is left."""
        alive = [w for w in self.workers if w.process.is_alive()]
        for w in alive:
            os.kill(w.pid, signal.SIGTERM)
        clock = SystemClock()
        deadline = clock.monotonic() + self.settings.graceful_shutdown_seconds + STOP_MARGIN_SECONDS
        for w in alive:
            w.process.join(max(0.0, deadline - clock.monotonic()))
            if w.process.is_alive():
                log.error("worker %d (pid %d) did not stop in time; killing it", w.index, w.pid)
                w.process.kill()
                w.process.join()
        for w in self.workers:
            if w.ready is not None:
                w.ready.close()


def run(settings: Settings, on_ready: Callable[[list[int]], None] | None = None) -> int:
    """Apply migrations, then serve with settings.workers processes until SIGTERM or Ctrl-C;
    return the exit code (1: a worker could not start). `on_ready(pids)` is called once,
    when every worker first serves."""
    applied = asyncio.run(_migrate(settings))
    if applied:
        log.info("applied migrations %s", applied)
    sockets = bind(settings, settings.workers)
    try:
        return _Supervisor(settings, sockets, on_ready).supervise()
    finally:
        for sock in sockets:
            sock.close()
