"""Throwaway PostgreSQL and Redis servers for the test session, on free ports.

Each is started from the installed binaries (hermetic: nothing is shared with the machine's
own services) unless HUBBUB_TEST_DATABASE_URL / HUBBUB_TEST_REDIS_URL name existing ones.
When the binaries are missing the tests that need them skip, saying how to enable them; with
HUBBUB_TEST_REQUIRE_SERVICES=1 (as in CI) they fail instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import redis

from tests.server_process import free_port

REQUIRED = os.environ.get("HUBBUB_TEST_REQUIRE_SERVICES") == "1"


def unavailable(what: str, how: str) -> None:
    message = f"{what} is not available: {how}"
    if REQUIRED:
        pytest.fail(message + " (HUBBUB_TEST_REQUIRE_SERVICES=1: this is an error)")
    pytest.skip(message)


def _pg_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))  # Debian's layout
    return installed[-1].parent if installed else None


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temp dir, fsync off, listening on 127.0.0.1 only."""

    def __init__(self) -> None:
        bindir = _pg_bindir()
        if bindir is None:
            unavailable(
                "PostgreSQL",
                "apt-get install postgresql, or set "
                "HUBBUB_TEST_DATABASE_URL=postgresql://user@host:port/db",
            )
        assert bindir is not None
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="hubbub-pg-"))
        self.data = self.root / "data"
        self.as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        self.start()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bindir / tool), *args]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        """Stop the server (fast shutdown); the data stays, so start() brings it back."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=300"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "pg.log"),
            "-w",
            "-t",
            "30",
            "-o",
            options,
            "start",
        )

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class Databases:
    """Databases on one server. `fresh()` hands out one migrated database, emptied between
    tests with TRUNCATE (creating a database per test costs a checkpoint each time)."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.shared = self.url_of(f"hubbub_t_{uuid.uuid4().hex[:8]}")
        self._admin(f'CREATE DATABASE "{self.shared.rpartition("/")[2]}"')
        self._migrate(self.shared)
        with psycopg.connect(self.shared) as conn:
            rows = conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename"
                " NOT IN ('schema_migrations', 'meta', 'event_counter')"
            ).fetchall()
        self._tables = ", ".join(r[0] for r in rows)

    def fresh(self) -> str:
        """The shared database, emptied: no users, rooms or events (the lobby is re-made
        when an app starts on it)."""
        with psycopg.connect(self.shared, autocommit=True) as conn:
            conn.execute(f"TRUNCATE {self._tables} CASCADE")
            conn.execute("UPDATE event_counter SET pos = 0, floor = 0")
        return self.shared

    def url_of(self, name: str) -> str:
        base, _, _ = self.server_url.rpartition("/")
        return f"{base}/{name}"

    def _admin(self, sql: str) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(sql)

    @staticmethod
    def _migrate(url: str) -> None:
        """Migrate with the CLI (a subprocess: callers may be inside an event loop)."""
        subprocess.run(
            [sys.executable, "-m", "hubbub", "migrate", "--database-url", url],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def create_empty(self) -> str:
        name = f"hubbub_e_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url_of(name)

    def drop(self, url: str) -> None:
        name = url.rpartition("/")[2]
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class ThrowawayRedis:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable(
                "Redis",
                "apt-get install redis-server, or set HUBBUB_TEST_REDIS_URL=redis://host:port/0",
            )
        assert binary is not None
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


class ThrowawayS3:
    """moto's standalone S3-compatible server (from the installed `moto[server]`), on
    127.0.0.1 only, holding everything in memory; stopped with the session."""

    def __init__(self) -> None:
        try:
            import moto.server  # noqa: F401
        except ImportError:
            unavailable("An S3-compatible server", "pip install 'moto[server]'")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                import socket

                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None
