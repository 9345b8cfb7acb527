"""A Python client generated from the served /openapi.json with openapi-python-client works.

The generator names each module after an operationId (`sendMessage` -> `send_message.py`)
under its tag (`api/messages/`) and each model after a component schema, so this test fails
if an operationId, a tag or a schema name changes, if events lose their typing (the long-poll
page would hold dicts, not `MessageCreatedEvent`), if an error parses into anything but
`Problem`, or if the generator warns about the document (`--fail-on-warning`).

Everything below the generation goes through the generated package only; the server is a
real process on 127.0.0.1.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.server_process import ServerProcess

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "hubbub_generated_client"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(f"sqlite:///{tmp_path_factory.mktemp('db') / 'hubbub.db'}") as process:
        yield process


@pytest.fixture(scope="module")
def generated(
    server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ModuleType]:
    """The package openapi-python-client generates from the running server's document,
    imported (and removed from sys.modules afterwards)."""
    work = tmp_path_factory.mktemp("generated")
    document = work / "openapi.json"
    document.write_bytes(httpx.get(f"{server.url}/openapi.json").content)
    config = work / "config.json"
    config.write_text(json.dumps({"package_name_override": PACKAGE}))
    # The generator formats its output with ruff, found on PATH: this venv's.
    path = f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(document),
            "--config",
            str(config),
            "--output-path",
            str(work / PACKAGE),
            "--meta",
            "none",
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PATH": path},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def operation(tag: str, name: str) -> ModuleType:
    """The generated module of one operation: `operation("messages", "send_message")`."""
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")


def models() -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.models")


def sign_up(generated: ModuleType, server: ServerProcess, username: str) -> Any:
    """createAccount, then an AuthenticatedClient with the new token."""
    create_account = operation("accounts", "create_account")
    with generated.Client(base_url=server.url, raise_on_unexpected_status=True) as anonymous:
        response = create_account.sync_detailed(
            client=anonymous, body=models().AccountIn(username=username, password="fuzz-pass-1")
        )
    assert response.status_code == 201, response.content
    session = response.parsed
    assert isinstance(session, models().SessionOut)
    assert session.user.username == username
    return generated.AuthenticatedClient(
        base_url=server.url,
        token=session.token,
        raise_on_unexpected_status=True,
        timeout=httpx.Timeout(10.0),
    )


def test_sign_up_send_page_history_and_long_poll_typed_events(
    generated: ModuleType, server: ServerProcess
) -> None:
    m = models()
    create_room = operation("rooms", "create_room")
    send_message = operation("messages", "send_message")
    list_messages = operation("messages", "list_messages")
    poll_events = operation("real_time", "poll_events")

    with sign_up(generated, server, "alice") as alice:
        room = create_room.sync(
            client=alice,
            body=m.RoomIn(name="Generated", visibility=m.RoomInVisibility.PUBLIC),
        )
        assert isinstance(room, m.RoomOut)
        assert room.my_role == m.RoomOutMyRoleType0.OWNER

        texts = [f"hello {i}" for i in range(1, 6)]
        for i, text in enumerate(texts):
            sent = send_message.sync(
                room.id, client=alice, body=m.MessageIn(text=text), idempotency_key=f"k{i}"
            )
            assert isinstance(sent, m.MessageOut)
            assert (sent.seq, sent.text, sent.author.username) == (i + 1, text, "alice")
        # The Idempotency-Key header parameter reaches the server: a retry is a replay.
        retry = send_message.sync_detailed(
            room.id, client=alice, body=m.MessageIn(text=texts[-1]), idempotency_key="k4"
        )
        assert retry.status_code == 201
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert retry.parsed.seq == len(texts)

        # History, newest page first, paged back by `before` until has_more_before is false.
        page = list_messages.sync(room.id, client=alice, limit=2)
        assert isinstance(page, m.MessagesPage)
        pages = [page]
        while page.has_more_before:
            page = list_messages.sync(room.id, client=alice, before=page.messages[0].seq, limit=2)
            pages.append(page)
        assert [[msg.seq for msg in p.messages] for p in pages] == [[4, 5], [2, 3], [1]]
        assert [msg.text for p in reversed(pages) for msg in p.messages] == texts

        # Long-poll: the first call (no `since`) gives the present cursor; the next, after a
        # send, gives that message as a typed event.
        start = poll_events.sync(client=alice, timeout=0)
        assert isinstance(start, m.EventsPage)
        assert start.events == []
        sent = send_message.sync(room.id, client=alice, body=m.MessageIn(text="for the poll"))
        polled = poll_events.sync(client=alice, since=start.next_, timeout=5)
        assert isinstance(polled, m.EventsPage)
        assert len(polled.events) == 1, polled.events
        event = polled.events[0]
        assert isinstance(event, m.MessageCreatedEvent)
        assert event.type_ == "message.created"
        assert isinstance(event.data, m.MessageOut)
        assert event.data.text == "for the poll"
        assert (event.data.id, event.data.seq, event.room_id) == (sent.id, sent.seq, room.id)
        assert polled.next_ == event.id


def test_errors_parse_as_problems(generated: ModuleType, server: ServerProcess) -> None:
    m = models()
    get_room = operation("rooms", "get_room")
    list_messages = operation("messages", "list_messages")

    with sign_up(generated, server, "bob") as bob:
        missing = get_room.sync_detailed("no-such-room", client=bob)
        assert missing.status_code == 404
        assert isinstance(missing.parsed, m.Problem)
        assert (missing.parsed.status, missing.parsed.code) == (404, "room_not_found")

        invalid = list_messages.sync_detailed("general", client=bob, limit=0)
        assert invalid.status_code == 422
        assert isinstance(invalid.parsed, m.Problem)
        assert invalid.parsed.code == "invalid"
