"""Starting the servers under test (hubbub and the bare ceilings) on free ports, pinned to
SERVER_CPU, waiting until they answer, and stopping them by PID.

`serve` is make bench's (bench/run.py: pinned when it can be, --url, fresh PostgreSQL databases,
a second hubbub node); `serve_pinned` is bench/realtime.py's (always pinned; prints the servers'
logs when anything fails). Both run the same `command` lines.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from procs import HOST, SERVER_CPU, answers, free_port, rss_kb, stop

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
NO_PID = 2**22 + 1  # above Linux's largest pid_max: /proc/NO_PID never exists (--url)


def command(
    kind: str,
    port: int,
    workdir: Path,
    db: str | None = None,
    redis_url: str | None = None,
    workers: int = 1,
) -> list[str]:
    """The command line of a server: bare_asgi or bare_ws (bench/, on uvicorn the way hubbub is
    served), or hubbub (SQLite in `workdir` unless `db`; a cluster node with `redis_url`;
    `workers` worker processes, which needs `redis_url`)."""
    common = ["--host", HOST, "--port", str(port)]
    if kind in ("bare_asgi", "bare_ws"):
        cmd = [PYTHON, "-m", "uvicorn", "--app-dir", str(BENCH), f"{kind}:app", *common]
        cmd += ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]
        cmd += ["--log-level", "warning", "--timeout-graceful-shutdown", "2"]
        if kind == "bare_ws":
            cmd += ["--ws", "websockets-sansio", "--ws-per-message-deflate", "false"]
        return cmd
    cmd = [PYTHON, "-m", "hubbub", "serve", *common, "--log-level", "warning"]
    cmd += ["--database-url", db or f"sqlite:///{workdir / 'bench.db'}"]
    # Rate limits off unless a run asks for them (run.py --rate-limits): a benchmark is one
    # account sending as fast as it can, which the default budgets exist to refuse.
    rate_limits = os.environ.get("HUBBUB_BENCH_RATE_LIMITS", "off")
    cmd += ["--password-hashing", "fast", "--rate-limits", rate_limits]
    cmd += ["--workers", str(workers)] if workers > 1 else []
    return cmd + (["--redis-url", redis_url] if redis_url else [])


@dataclass(slots=True)
class Server:
    kind: str
    port: int
    proc: subprocess.Popen[bytes] | None  # None: --url, not ours

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc else NO_PID


class Pg:
    """Fresh databases on the --database-url PostgreSQL server, dropped when done."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.made: list[str] = []

    def _admin(self) -> Any:
        import psycopg

        parts = urlsplit(self.url)
        admin = urlunsplit(parts._replace(path="/postgres"))
        return psycopg.connect(admin, autocommit=True)

    def fresh(self) -> str:
        parts = urlsplit(self.url)
        name = f"{parts.path.lstrip('/') or 'hubbub'}_b{os.getpid()}_{len(self.made)}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def drop(self, url: str) -> None:
        self.drop_name(urlsplit(url).path.lstrip("/"))

    def drop_name(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        with contextlib.suppress(ValueError):
            self.made.remove(name)


@contextmanager
def serve(
    kinds: list[str], workdir: Path, opts: argparse.Namespace, pg: Pg | None
) -> Iterator[dict[str, Server]]:
    """Start the named servers (bare_asgi, bare_ws, hubbub, hubbub-b: a second node on the same
    database, hubbub-w2: hubbub with 2 worker processes), pinned to SERVER_CPU when we can;
    yield {kind: Server}; stop them by PID."""
    env = os.environ | {"PYTHONPATH": str(opts.src)}
    # The upload scenario sends files of hundreds of MB, more than one account may keep.
    env |= {"HUBBUB_MAX_UPLOAD_BYTES": str(1 << 34), "HUBBUB_UPLOAD_QUOTA_BYTES": "0"}
    servers: dict[str, Server] = {}
    logs: dict[str, Path] = {}
    db = pg.fresh() if pg and any(k.startswith("hubbub") for k in kinds) else None
    if db:  # `serve` wants the files of PostgreSQL nodes in one shared place: here, one node's
        env |= {"HUBBUB_FILES_URL": str(workdir / "files"), "HUBBUB_FILES_SHARED": "true"}
    try:
        for kind in kinds:
            if kind == "hubbub" and opts.url:
                servers[kind] = Server(kind, urlsplit(opts.url).port or 80, None)
                continue
            port = free_port()
            base, _, workers = kind.partition("-w")
            cmd = command(
                base.removesuffix("-b"), port, workdir, db, opts.redis_url, int(workers or 1)
            )
            if opts.pinned:
                cmd = ["taskset", "-c", str(SERVER_CPU), *cmd]
            elif getattr(opts, "every_cpu", False):  # not this process's affinity (the load's)
                cmd = ["taskset", "-c", f"0-{(os.cpu_count() or 1) - 1}", *cmd]
            logs[kind] = workdir / f"{kind}.log"
            with logs[kind].open("ab") as log:
                proc = subprocess.Popen(cmd, stdout=log, stderr=log, cwd=ROOT, env=env)
            servers[kind] = Server(kind, port, proc)
            if kind == "hubbub" and "hubbub-b" in kinds:
                wait(servers[kind], logs)  # node A applies the migrations before node B starts
        for server in servers.values():
            wait(server, logs)
        yield servers
    finally:
        for server in servers.values():
            if server.proc and server.proc.poll() is None:
                server.proc.send_signal(signal.SIGTERM)
        for server in servers.values():
            if server.proc:
                stop(server.proc)
        if db and pg:
            pg.drop(db)


def wait(server: Server, logs: dict[str, Path]) -> None:
    """Until the server answers (with workers: until each one serves, which its log says)."""
    path = "/messages?limit=1" if server.kind.startswith("hubbub") else "/"
    deadline = time.monotonic() + 60
    workers = server.kind.partition("-w")[2]
    log_says = "workers ready" if workers and int(workers) > 1 else None
    while not answers(server.port, path) or (
        log_says and log_says not in logs[server.kind].read_text(errors="replace")
    ):
        failed = server.proc is not None and server.proc.poll() is not None
        if failed or time.monotonic() > deadline:
            log = logs.get(server.kind)
            tail = log.read_text(errors="replace").splitlines()[-20:] if log else []
            raise RuntimeError(
                f"{server.kind} on port {server.port} did not answer:\n" + "\n".join(tail)
            )
        time.sleep(0.05)


def rss_mb(server: Server) -> float | None:
    if server.proc is None:
        return None
    with contextlib.suppress(OSError, RuntimeError):
        return rss_kb(server.pid) / 1024
    return None


@contextmanager
def serve_pinned(
    names: Sequence[str], workdir: Path, src: Path
) -> Iterator[dict[str, tuple[subprocess.Popen[bytes], int]]]:
    """Start each server pinned to SERVER_CPU (all at once: they start faster together than
    one after the other), wait until all answer, yield {name: (process, port)}, stop them.
    An idle server costs nothing measurable while the other one is measured."""
    env = os.environ | {"PYTHONPATH": str(src)}  # hubbub from `src`, ahead of the editable install
    started: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    logs: dict[str, Path] = {}
    try:
        for name in names:
            port = free_port()
            cmd = command("bare_ws" if name == "bare" else "hubbub", port, workdir)
            logs[name] = workdir / f"{name}.log"
            with logs[name].open("ab") as log:
                started[name] = (
                    subprocess.Popen(
                        ["taskset", "-c", str(SERVER_CPU), *cmd],
                        stdout=log,
                        stderr=log,
                        cwd=ROOT,
                        env=env,
                    ),
                    port,
                )
        deadline = time.monotonic() + 60
        for name, (proc, port) in started.items():
            while not answers(port, "/" if name == "bare" else "/messages?limit=1"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start (exit code {proc.poll()})")
                time.sleep(0.05)
        yield started
    except BaseException:
        for name, path in logs.items():
            tail = "\n".join(path.read_text(errors="replace").splitlines()[-20:])
            print(f"{name} server log (last lines):\n{tail}", file=sys.stderr)
        raise
    finally:
        for proc, _ in started.values():  # all at once: they shut down in parallel
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in started.values():
            stop(proc)
