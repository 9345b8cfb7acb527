"""Incoming webhooks with clients nobody here wrote: slack_sdk's WebhookClient (PyPI) and
Prometheus Alertmanager (Debian's prometheus-alertmanager, a slack_configs receiver whose
api_url is the hook), each against a real server process on 127.0.0.1."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_sdk.webhook import WebhookClient

from tests.backends import unavailable
from tests.server_process import ServerProcess, free_port

API = "/api/v1"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(f"sqlite:///{tmp_path / 'h.db'}") as running:
        yield running


def room_with_hook(server: ServerProcess) -> tuple[dict[str, str], str, dict[str, Any]]:
    """An owner's auth header, their room's id, and a new webhook of that room."""
    with httpx.Client(base_url=server.url + API) as c:
        token = c.post("/accounts", json={"username": "alice", "password": "fuzz-pass-1"}).json()[
            "token"
        ]
        auth = {"Authorization": f"Bearer {token}"}
        room = c.post("/rooms", json={"name": "alerts", "visibility": "private"}, headers=auth)
        room_id = room.json()["id"]
        hook = c.post(f"/rooms/{room_id}/webhooks", json={"name": "Ops"}, headers=auth)
        assert hook.status_code == 201, hook.text
        return auth, room_id, hook.json()


def messages(server: ServerProcess, auth: dict[str, str], room_id: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{server.url}{API}/rooms/{room_id}/messages", headers=auth)
    assert r.status_code == 200, r.text
    return list(r.json()["messages"])


def test_slack_sdks_webhook_client_posts_text_attachments_and_blocks(
    server: ServerProcess,
) -> None:
    auth, room_id, hook = room_with_hook(server)
    client = WebhookClient(hook["url"])
    answer = client.send(
        text="*build 812* passed",
        attachments=[{"color": "good", "title": "main", "text": "412 tests, _all_ green"}],
    )
    assert (answer.status_code, answer.body) == (200, "ok")
    answer = client.send(
        text="fallback",
        blocks=[
            {"type": "header", "text": {"type": "plain_text", "text": "Deploy"}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "<https://example.com|prod> ok"},
            },
        ],
    )
    assert (answer.status_code, answer.body) == (200, "ok")
    answer = client.send(text="")
    assert (answer.status_code, answer.body) == (400, "no_text")

    first, second = messages(server, auth, room_id)
    assert first["text"] == "**build 812** passed"
    assert first["author"]["bot"] is True
    assert first["author"]["display_name"] == "Ops"
    assert [(c["title"], c["text"], c["color"]) for c in first["cards"]] == [
        ("main", "412 tests, *all* green", "good")
    ]
    assert second["text"] == "**Deploy**\n\n[prod](https://example.com) ok"

    gone = WebhookClient(hook["url"] + "nope").send(text="x")
    assert (gone.status_code, gone.body) == (404, "no_service")


def test_alertmanager_posts_a_firing_alert_into_the_room(
    server: ServerProcess, tmp_path: Path
) -> None:
    if not Path(ALERTMANAGER).exists() and shutil.which("prometheus-alertmanager") is None:
        unavailable("Prometheus Alertmanager", "apt-get install prometheus-alertmanager")
    auth, room_id, hook = room_with_hook(server)
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        f"""
route:
  receiver: hubbub
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hubbub
    slack_configs:
      - api_url: {hook["url"]}
        channel: "#alerts"
        send_resolved: false
        title: "{{{{ .CommonLabels.alertname }}}} is firing"
        text: "{{{{ .CommonAnnotations.description }}}}"
"""
    )
    log = tmp_path / "alertmanager.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            [
                shutil.which("prometheus-alertmanager") or ALERTMANAGER,
                f"--config.file={config}",
                f"--storage.path={tmp_path / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    try:
        api = f"http://127.0.0.1:{port}/api/v2"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{api}/status").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "Alertmanager did not start"
            time.sleep(0.1)
        alert = {
            "labels": {"alertname": "HighLatency", "severity": "page"},
            "annotations": {"description": "api p99 is 1.4 s"},
        }
        assert httpx.post(f"{api}/alerts", json=[alert]).status_code == 200
        deadline = time.monotonic() + 30
        while not (posted := messages(server, auth, room_id)):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    [message] = posted
    assert message["author"]["bot"] is True
    [card] = message["cards"]
    assert card["title"] == "HighLatency is firing"
    assert card["text"] == "api p99 is 1.4 s"
