"""The live connection: surviving a server crash and restart, and WebSockets being blocked."""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from tests.server_process import ServerProcess
from tests.ui.conftest import Person, save_screenshot


def wait_for_texts(person: Person, prefix: str, expected: list[str], timeout_s: float = 20) -> None:
    """Until the timeline's messages starting with `prefix` are exactly `expected`."""
    seen: list[str] = []
    for _ in range(int(timeout_s * 10)):
        seen = person.timeline_texts(prefix)
        if seen == expected:
            return
        person.page.wait_for_timeout(100)
    raise AssertionError(f"{person.username} shows {seen}, expected {expected}")


def test_timeline_is_complete_after_the_server_is_killed_and_restarted(
    people: Callable[..., Person], server: ServerProcess
) -> None:
    alice = people("alice").sign_up()
    bob = people("bob").sign_up()
    a, b = alice.page, bob.page
    b.evaluate("window.__noReload = true")
    a.evaluate("window.__noReload = true")
    expected = [f"msg {i}" for i in range(1, 9)]

    for text in expected[:3]:
        alice.send(text)
    wait_for_texts(bob, "msg ", expected[:3])

    server.kill()  # SIGKILL: no goodbye to anyone
    b.locator("#banner", has_text=re.compile("Reconnecting|offline")).wait_for()
    for text in expected[3:5]:  # written while the server is down: they wait, visibly
        alice.send(text)
    a.locator("#messages li.pending", has_text="msg 5").wait_for()
    save_screenshot(a, "offline-pending")
    save_screenshot(b, "reconnecting-banner")

    server.start()  # the same port and database
    for text in expected[5:]:
        alice.send(text)

    wait_for_texts(bob, "msg ", expected)
    wait_for_texts(alice, "msg ", expected)
    a.locator("#messages li.pending").wait_for(state="detached")
    b.locator("#banner").wait_for(state="hidden")
    assert b.evaluate("window.__noReload") is True  # caught up in place, not by reloading
    assert a.evaluate("window.__noReload") is True

    # The server holds each message once, in order, although sends were retried.
    stored = bob.api("GET", "/rooms/general/messages?limit=50").json()["messages"]
    assert [m["text"] for m in stored] == expected
    b.wait_for_timeout(300)
    wait_for_texts(bob, "msg ", expected)  # nothing doubled late
    assert bob.unexpected_console_errors(allow_network_noise=True) == []
    assert alice.unexpected_console_errors(allow_network_noise=True) == []


def test_falls_back_to_long_poll_when_websockets_are_blocked(
    people: Callable[..., Person],
) -> None:
    alice = people("alice").sign_up()
    bob = people("bob")
    # A "proxy" that accepts every WebSocket and hangs up at once.
    bob.context.route_web_socket(re.compile(r".*/api/v1/stream.*"), lambda ws: ws.close())
    bob.sign_up()
    b = bob.page
    b.locator("html[data-transport='long-poll'][data-connection='live']").wait_for(timeout=15_000)

    alice.send("can you hear me?")
    bob.message("can you hear me?").wait_for()
    bob.send("loud and clear, by long-poll")
    alice.message("loud and clear, by long-poll").wait_for()
    b.locator("#composer-input").press_sequentially("typing")  # typing goes over HTTP here
    alice.page.locator("#typing", has_text="bob is typing").wait_for()
    assert bob.console_errors == []
    assert alice.console_errors == []


def test_restoring_an_older_database_resets_the_client_without_a_reload(
    people: Callable[..., Person], server: ServerProcess, tmp_path: Path
) -> None:
    alice = people("alice").sign_up()
    bob = people("bob").sign_up()
    b = bob.page
    b.evaluate("window.__noReload = true")
    alice.send("before the backup")
    wait_for_texts(bob, "", ["before the backup"])
    db = tmp_path / "hubbub.db"
    backup = tmp_path / "backup.db"
    with closing(sqlite3.connect(db)) as live, closing(sqlite3.connect(backup)) as copy:
        live.backup(copy)
    alice.send("lost with the restore")
    wait_for_texts(bob, "", ["before the backup", "lost with the restore"])

    # The server comes back with the older database: bob's cursor is now ahead of it, so the
    # server answers "reset" and the client reloads its state in place.
    server.kill()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copy(backup, db)
    server.start()
    wait_for_texts(bob, "", ["before the backup"])
    alice.send("after the restore")
    wait_for_texts(bob, "", ["before the backup", "after the restore"])
    assert b.evaluate("window.__noReload") is True
    assert bob.unexpected_console_errors(allow_network_noise=True) == []
