"""The real CLI and server process over a socket: classic API, restart durability, shutdown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.server_process import ServerProcess, free_port


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
    return subprocess.run(
        [sys.executable, "-m", "hubbub", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=60,
        check=False,
    )


def test_version_and_help() -> None:
    assert run_cli("--version").stdout.strip().startswith("hubbub ")
    out = run_cli("serve", "--help").stdout
    for option in ("--host", "--port", "--database-url", "--log-level", "HUBBUB_PORT"):
        assert option in out


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'h.db'}"
    first = run_cli("migrate", "--database-url", url)
    assert first.returncode == 0, first.stderr
    assert "applied migrations: [1" in first.stdout
    second = run_cli("migrate", env={"HUBBUB_DATABASE_URL": url})
    assert second.returncode == 0
    assert "up to date" in second.stdout


def test_bad_setting_fails_with_message(tmp_path: Path) -> None:
    result = run_cli("serve", env={"HUBBUB_PORT": "nope"})
    assert result.returncode != 0
    assert "HUBBUB_PORT" in result.stderr


def test_classic_api_over_socket_survives_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'hubbub.db'}"
    port = free_port()
    with ServerProcess(url, port=port) as server:

        def send(i: int) -> int:
            return httpx.post(
                f"{server.url}/message", json={"user": f"u{i % 3}", "text": f"t{i}"}, timeout=10
            ).status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(send, range(40))) == {200}
        assert httpx.get(f"{server.url}/nope").status_code == 404
    with ServerProcess(url, port=port) as server:
        messages = httpx.get(f"{server.url}/messages").json()["messages"]
        assert sorted(m["text"] for m in messages) == sorted(f"t{i}" for i in range(40))
        assert sorted(httpx.get(f"{server.url}/users").json()["users"]) == ["u0", "u1", "u2"]


def test_env_port_is_honoured(tmp_path: Path) -> None:
    port = free_port()
    server = ServerProcess(f"sqlite:///{tmp_path / 'h.db'}", port=port)
    with server:
        assert httpx.get(f"http://127.0.0.1:{port}/users").status_code == 200


def test_sigterm_with_open_connections_exits_within_3s(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    server = ServerProcess(
        f"sqlite:///{tmp_path / 'h.db'}", log_path=log, env={"HUBBUB_LOG_LEVEL": "info"}
    ).start()
    # Hold connections open: one idle keep-alive socket, one request whose body never finishes.
    idle = socket.create_connection(("127.0.0.1", server.port))
    stuck = socket.create_connection(("127.0.0.1", server.port))
    stuck.sendall(
        b"POST /message HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n{"
    )
    try:
        assert server.stop() < 3.0
        assert server.proc is not None
        # uvicorn finishes its graceful shutdown, then re-raises the signal it received.
        assert server.proc.returncode in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in log.read_text()
    finally:
        idle.close()
        stuck.close()


def test_new_deployment_id_invalidates_old_cursors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    with ServerProcess(url) as server:
        token = httpx.post(
            f"{server.url}/api/v1/accounts",
            json={"username": "alice", "password": "fuzz-pass-1"},
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        cursor = httpx.get(f"{server.url}/api/v1/events", headers=headers).json()["next"]
    result = run_cli("new-deployment-id", "--database-url", url)
    assert result.returncode == 0, result.stderr
    with ServerProcess(url) as server:
        r = httpx.get(
            f"{server.url}/api/v1/events", headers=headers, params={"since": cursor, "timeout": 0}
        )
        assert r.status_code == 410
        assert r.json()["code"] == "cursor_expired"
