"""Start a real `hubbub serve` process on a free port, for tests that need a socket."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`with ServerProcess(db_url) as server:` runs hubbub until the block ends (SIGTERM)."""

    def __init__(
        self,
        database_url: str,
        *,
        port: int | None = None,
        log_path: Path | None = None,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.port = port or free_port()
        self.log_path = log_path
        self.extra_env = env or {}
        self.args = args or []
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def tls_cert(self) -> str | None:
        """The certificate the server presents when it serves TLS itself (HUBBUB_TLS_CERT)."""
        return self.extra_env.get("HUBBUB_TLS_CERT") or None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls_cert else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What a client passes as httpx's `verify` (the server's own certificate, if TLS)."""
        if self.tls_cert is None:
            return True
        return ssl.create_default_context(cafile=self.tls_cert)

    def start(self, timeout: float = 60.0) -> ServerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
        # Tests sign up many users from one address: no rate limits unless asked.
        env.update(
            {
                "HUBBUB_PASSWORD_HASHING": "fast",
                "HUBBUB_LOG_LEVEL": "warning",
                "HUBBUB_RATE_LIMITS": "off",
            }
        )
        if not self.database_url.startswith("sqlite"):
            # Nodes on one PostgreSQL database share one files directory (on this machine).
            name = self.database_url.rsplit("/", 1)[-1]
            env["HUBBUB_FILES_URL"] = f"{tempfile.gettempdir()}/hubbub-test-files/{name}"
            env["HUBBUB_FILES_SHARED"] = "true"
        env.update(self.extra_env)
        cmd = [
            sys.executable,
            "-m",
            "hubbub",
            "serve",
            "--port",
            str(self.port),
            "--database-url",
            self.database_url,
            *self.args,
        ]
        if self.log_path:
            with open(self.log_path, "ab") as out:  # the child keeps its own copy of the fd
                self.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        else:
            self.proc = subprocess.Popen(
                cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early with {self.proc.returncode}")
            try:
                ready = httpx.get(f"{self.url}/users", timeout=1, verify=self.verify)
                if ready.status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("server did not become ready")

    def stop(self, timeout: float = 10.0) -> float:
        """SIGTERM and wait; return the seconds it took to exit."""
        assert self.proc is not None
        started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown at all."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.stop()
            finally:
                self.kill()
