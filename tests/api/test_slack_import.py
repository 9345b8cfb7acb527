"""`hubbub import-slack` (#19): an export the test writes in Slack's documented format
(users.json, channels.json, groups.json, dms.json, mpims.json, per-conversation daily files),
imported into each engine, and read back through the API as the imported people, who claim
their accounts with an admin's reset link. Edge cases: membership notices, a bot's messages, a
deleted user, a username collision, a thread (and a reply also sent to the channel),
reactions, an edit, mrkdwn with a mention and a link, a file in the export and one that is not,
a private channel, a DM and a group DM. A second run adds nothing; a dry run writes nothing;
20,000 messages import in bounded memory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tracemalloc
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import orjson
import pytest

import hubbub
from hubbub.app import command_services
from hubbub.config import Settings
from hubbub.services.slackimport import Summary
from hubbub.store import users as users_q
from tests.api.conftest import API, Account

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"
T0 = 1_672_531_200  # 2023-01-01T00:00:00Z
NOTES = b"minutes of the meeting\n" * 10
SOURCE = str(Path(hubbub.__file__).resolve().parents[1])


def ts(seconds: int, micro: int = 0) -> str:
    return f"{T0 + seconds}.{micro:06d}"


def at(created_at: str) -> int:
    """An API time (ISO 8601) in ms since the epoch."""
    return int(datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp() * 1000)


def write_export(path: Path, extra: dict[str, Any] | None = None) -> Path:
    """A Slack export as Slack documents it (plus one file where slackdump puts files)."""
    users = [
        {"id": "U1", "name": "alice", "real_name": "Alice Liddell", "profile": {}},
        {"id": "U2", "name": "bob.smith", "profile": {"display_name": "Bob"}},
        {"id": "U3", "name": "carol", "deleted": True, "profile": {"real_name": "Carol"}},
        {"id": "U4", "name": "Alice", "profile": {"real_name": "Another Alice"}},
        {"id": "U5", "name": "deploy bot", "is_bot": True, "profile": {"bot_id": "B5"}},
    ]
    channels = [
        {
            "id": "C1",
            "name": "general-chat",
            "created": T0 - 86400,
            "creator": "U1",
            "members": ["U1", "U2", "U3", "U4"],
            "topic": {"value": "all things"},
        },
    ]
    groups = [
        {"id": "G1", "name": "secret", "created": T0, "creator": "U2", "members": ["U1", "U2"]}
    ]
    dms = [{"id": "D1", "created": T0, "members": ["U1", "U2"]}]
    mpims = [
        {"id": "G2", "name": "mpdm-alice--bob.smith--alice-1", "created": T0,
         "members": ["U1", "U2", "U4"]},
    ]  # fmt: skip
    day1 = [
        {"type": "message", "subtype": "channel_join", "user": "U2", "ts": ts(1),
         "text": "<@U2> has joined the channel"},
        {"type": "message", "user": "U1", "ts": ts(2, 100),
         "text": "Hello <@U2>, see <https://example.com|the site> and *this*",
         "edited": {"user": "U1", "ts": ts(60)},
         "reactions": [{"name": "+1", "users": ["U2", "U1"], "count": 2},
                       {"name": "partyparrot", "users": ["U2"], "count": 1}]},
        {"type": "message", "user": "U2", "ts": ts(3), "thread_ts": ts(3), "reply_count": 2,
         "text": "a thread starts"},
        {"type": "message", "user": "U1", "ts": ts(4), "thread_ts": ts(3),
         "parent_user_id": "U2", "text": "first reply"},
        {"type": "message", "subtype": "bot_message", "bot_id": "B9", "username": "CI",
         "ts": ts(5), "text": "",
         "attachments": [{"fallback": "build 7 passed", "title": "Build 7", "text": "passed",
                          "color": "good"}]},
        {"type": "message", "user": "U3", "ts": ts(6), "text": "I was here"},
        {"type": "message", "subtype": "file_share", "user": "U1", "ts": ts(7),
         "text": "the notes",
         "files": [{"id": "F1", "name": "notes.txt", "mimetype": "text/plain",
                    "url_private": "https://files.slack.com/files-pri/T1-F1/notes.txt"},
                   {"id": "F2", "name": "plan.pdf", "mimetype": "application/pdf",
                    "url_private": "https://files.slack.com/files-pri/T1-F2/plan.pdf"}]},
        {"type": "message", "user": "U5", "bot_id": "B5", "ts": ts(8), "text": "deployed"},
    ]  # fmt: skip
    day2 = [
        {"type": "message", "subtype": "thread_broadcast", "user": "U2", "ts": ts(86400),
         "thread_ts": ts(3), "text": "second reply, also to the channel"},
        {"type": "message", "subtype": "channel_leave", "user": "U4", "ts": ts(86401),
         "text": "<@U4> has left the channel"},
    ]  # fmt: skip
    files: dict[str, Any] = {
        "users.json": users,
        "channels.json": channels,
        "groups.json": groups,
        "dms.json": dms,
        "mpims.json": mpims,
        "general-chat/2023-01-01.json": day1,
        "general-chat/2023-01-02.json": day2,
        "secret/2023-01-01.json": [
            {"type": "message", "user": "U2", "ts": ts(10), "text": "private words"}
        ],
        "D1/2023-01-01.json": [{"type": "message", "user": "U1", "ts": ts(11), "text": "hi bob"}],
        "mpdm-alice--bob.smith--alice-1/2023-01-01.json": [
            {"type": "message", "user": "U4", "ts": ts(12), "text": "three of us"}
        ],
        **(extra or {}),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, orjson.dumps(content))
        archive.writestr("__uploads/F1/notes.txt", NOTES)
    return path


async def import_export(settings: Settings, path: Path) -> Summary:
    async with command_services(settings) as services:
        return await services.slack_import.run(path)


def hubbub_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m hubbub ARGS` in a process of its own, with no HUBBUB_* from outside."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
    return subprocess.run(
        [sys.executable, "-m", "hubbub", *args],
        capture_output=True,
        text=True,
        env={**clean, "PYTHONPATH": SOURCE, "COLUMNS": "120"},
        timeout=60,
        check=False,
    )


async def claim(settings: Settings, client: httpx.AsyncClient, username: str) -> Account:
    """What an imported person does: set a password with the admin's reset link, sign in."""
    async with command_services(settings) as services:
        code = (await services.admin.password_reset(None, username)).code
    return await use_reset_link(client, username, code)


async def use_reset_link(client: httpx.AsyncClient, username: str, code: str) -> Account:
    r = await client.post(f"{API}/password-resets/{code}", json={"new_password": PASSWORD})
    assert r.status_code == 204, r.text
    r = await client.post(f"{API}/sessions", json={"username": username, "password": PASSWORD})
    assert r.status_code == 201, r.text
    return Account(username, r.json()["token"], r.json()["user"], client)


async def rooms_of(account: Account) -> dict[str, dict[str, Any]]:
    r = await account.get("/rooms")
    assert r.status_code == 200, r.text
    return {room["name"]: room for room in r.json()["rooms"]}


async def history(account: Account, room_id: str) -> list[dict[str, Any]]:
    r = await account.get(f"/rooms/{room_id}/messages", params={"limit": 200})
    assert r.status_code == 200, r.text
    return list(r.json()["messages"])


async def test_an_export_reads_back_through_the_api_as_the_people_who_wrote_it(
    settings: Settings, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    summary = await import_export(settings, write_export(tmp_path / "export.zip"))
    assert (summary.users, summary.bots) == (4, 2), "4 people (1 deleted); a bot user, an app bot"
    assert (summary.rooms, summary.dms) == (3, 1)
    assert summary.messages == 11
    assert summary.replies == 2
    assert summary.reactions == 3
    assert (summary.files_attached, summary.files_linked) == (1, 1)
    assert summary.skipped == {
        "membership notice (channel_join)": 1,
        "membership notice (channel_leave)": 1,
    }

    alice = await claim(settings, client, "alice")
    bob = await claim(settings, client, "bob.smith")
    rooms = await rooms_of(alice)
    assert {"general-chat", "secret", "alice, Alice-2, bob.smith", "alice, bob.smith"} <= set(rooms)
    general = rooms["general-chat"]
    assert (general["visibility"], general["kind"], general["topic"]) == (
        "public",
        "room",
        "all things",
    )
    assert rooms["secret"]["visibility"] == "private"
    assert rooms["alice, bob.smith"]["kind"] == "dm"
    assert general["unread_count"] == 0, "imported history counts as read"
    members = (await alice.get(f"/rooms/{general['id']}/members")).json()["members"]
    roles = {m["user"]["username"]: m["role"] for m in members}
    assert roles == {
        "alice": "owner",
        "bob.smith": "member",
        "carol": "member",
        "Alice-2": "member",
    }

    messages = await history(alice, general["id"])
    assert [m["seq"] for m in messages] == list(range(1, 9)), "gapless, in timestamp order"
    hello, root, reply, ci, gone, notes, deployed, broadcast = messages
    assert [at(m["created_at"]) for m in messages] == [
        (T0 + 2) * 1000 + 0,
        (T0 + 3) * 1000,
        (T0 + 4) * 1000,
        (T0 + 5) * 1000,
        (T0 + 6) * 1000,
        (T0 + 7) * 1000,
        (T0 + 8) * 1000,
        (T0 + 86400) * 1000,
    ], "their original times"
    assert hello["text"] == "Hello @bob.smith, see [the site](https://example.com) and **this**"
    assert hello["author"]["username"] == "alice"
    assert hello["mentions"]["users"] == [bob.id]
    mentioning_bob = (await bob.get("/mentions")).json()["messages"]
    assert [m["id"] for m in mentioning_bob] == [hello["id"]]
    assert hello["edited_at"] is not None
    assert at(hello["edited_at"]) == (T0 + 60) * 1000
    assert {(r["emoji"], r["count"], r["me"]) for r in hello["reactions"]} == {
        ("👍", 2, True),
        (":partyparrot:", 1, False),
    }
    assert root["thread"]["reply_count"] == 2
    assert reply["thread_root"] == root["id"]
    assert not reply["also_to_room"]
    assert broadcast["thread_root"] == root["id"]
    assert broadcast["also_to_room"]
    thread = (await bob.get(f"/messages/{root['id']}/thread")).json()
    assert [m["text"] for m in thread["replies"]] == [
        "first reply",
        "second reply, also to the channel",
    ]
    assert ci["author"]["bot"] is True
    assert ci["author"]["display_name"] == "CI"
    assert ci["cards"][0]["title"] == "Build 7"
    assert ci["cards"][0]["text"] == "passed"
    assert deployed["author"]["bot"] is True
    assert deployed["author"]["username"] == "deploy_bot"
    assert gone["author"]["username"] == "carol"
    assert notes["text"].startswith("the notes\n📎 [plan.pdf](https://files.slack.com/")
    [attachment] = notes["attachments"]
    assert (attachment["filename"], attachment["size"]) == ("notes.txt", len(NOTES))
    download = await client.get(attachment["url"])
    assert download.status_code == 200
    assert download.content == NOTES

    secret = await history(bob, rooms["secret"]["id"])
    assert [m["text"] for m in secret] == ["private words"]
    dm = await history(bob, rooms["alice, bob.smith"]["id"])
    assert [(m["author"]["username"], m["text"]) for m in dm] == [("alice", "hi bob")]
    found = (await bob.get("/search", params={"q": "private words"})).json()["results"]
    assert [hit["message"]["text"] for hit in found] == ["private words"], "indexed"
    other = await bob.get(f"/rooms/{rooms['secret']['id']}/messages")
    assert other.status_code == 200

    async with command_services(settings) as services:
        carol = await services.messages.uow.read(
            lambda tx: users_q.find_user_by_username(tx, "carol")
        )
        bots = await services.messages.uow.read(
            lambda tx: [users_q.find_user_by_username(tx, n) for n in ("deploy_bot", "CI")]
        )
    assert carol is not None
    assert carol.deactivated, "a deleted Slack user is deactivated"
    assert all(b is not None and b.bot and b.deactivated for b in bots)


async def test_a_second_run_adds_nothing(settings: Settings, tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.zip")
    first = await import_export(settings, export)
    again = await import_export(settings, export)
    assert (again.users, again.bots, again.rooms, again.dms, again.memberships) == (0,) * 5
    assert (again.messages, again.reactions, again.files_attached) == (0, 0, 0)
    assert again.already == first.users + first.bots - 1 + 4 + first.messages, (
        "the users of users.json, the conversations and the messages were found in the map "
        "(the app bot is found by its message)"
    )
    async with command_services(settings) as services:
        counts = await services.messages.uow.read(
            lambda tx: [
                tx.fetchone(f"SELECT COUNT(*) FROM {table}")[0]  # type: ignore[index]
                for table in ("users", "rooms", "messages", "reactions", "uploads", "members")
            ]
        )
    assert counts[2] == first.messages + 0, "no message twice"
    assert counts[3] == first.reactions
    assert counts[4] == 1


async def test_a_later_export_adds_only_what_is_new_after_what_is_there(
    settings: Settings, tmp_path: Path
) -> None:
    full = write_export(tmp_path / "full.zip")
    with zipfile.ZipFile(full) as archive, zipfile.ZipFile(tmp_path / "early.zip", "w") as early:
        for name in archive.namelist():
            if name != "general-chat/2023-01-02.json":  # the export of a day earlier
                early.writestr(name, archive.read(name))
    first = await import_export(settings, tmp_path / "early.zip")
    later = await import_export(settings, full)
    assert (first.messages, later.messages, later.replies) == (10, 1, 1)
    async with command_services(settings) as services:
        rows = await services.messages.uow.read(
            lambda tx: tx.fetchall(
                "SELECT m.seq, m.text, m.thread_root IS NOT NULL FROM messages m"
                " JOIN rooms r ON r.id = m.room_id WHERE r.name = 'general-chat' ORDER BY m.seq"
            )
        )
    assert [(int(seq), text) for seq, text, _ in rows][-1] == (
        8,
        "second reply, also to the channel",
    )
    assert bool(rows[-1][2]), "in the thread its root started in the first run"


async def test_a_file_over_the_upload_limit_is_linked_instead(
    settings: Settings, tmp_path: Path
) -> None:
    small = settings.replace(max_upload_bytes=len(NOTES) - 1)
    summary = await import_export(small, write_export(tmp_path / "export.zip"))
    assert (summary.files_attached, summary.files_linked) == (0, 2)
    assert summary.skipped["file not attached, linked instead: file_too_large"] == 1
    async with command_services(small) as services:
        text = await services.messages.uow.read(
            lambda tx: tx.fetchone("SELECT text FROM messages WHERE text LIKE 'the notes%'")
        )
        uploads = await services.messages.uow.read(
            lambda tx: tx.fetchone("SELECT COUNT(*) FROM uploads")
        )
    assert text is not None
    assert "📎 [notes.txt](https://files.slack.com/files-pri/T1-F1/notes.txt)" in text[0]
    assert uploads is not None
    assert int(uploads[0]) == 0, "nothing half-stored"


@pytest.mark.slow  # each command is a Python process
async def test_the_command_line_counts_with_a_dry_run_then_imports_and_prints_claim_links(
    settings: Settings, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    export = write_export(tmp_path / "export.zip")
    database = tmp_path / "never" / "hubbub.db"
    dry = await anyio.to_thread.run_sync(
        lambda: hubbub_cli(
            "import-slack", str(export), "--dry-run", "--database-url", f"sqlite:///{database}"
        )
    )
    assert dry.returncode == 0, dry.stderr
    assert "dry run: nothing written" in dry.stdout
    assert re.search(r"\bmessages\W+11\b", dry.stdout), dry.stdout
    assert "skipped: membership notice (channel_join)" in dry.stdout
    assert not database.parent.exists(), "no database opened, let alone written"

    url = settings.database_url
    done = await anyio.to_thread.run_sync(
        lambda: hubbub_cli("import-slack", str(export), "--database-url", url)
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"\bmessages\W+11\b", done.stdout), done.stdout
    assert re.search(r"files attached\W+1\b", done.stdout), done.stdout
    link = await anyio.to_thread.run_sync(
        lambda: hubbub_cli("admin", "reset-link", "alice", "--database-url", url)
    )
    assert link.returncode == 0, link.stderr
    alice = await use_reset_link(client, "alice", re.findall(r"/reset/(\S+)", link.stdout)[-1])
    assert "general-chat" in await rooms_of(alice)


@pytest.mark.slow  # a Python process
async def test_an_unreadable_export_is_refused_with_a_reason(tmp_path: Path) -> None:
    bad = tmp_path / "not-an-export.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("readme.txt", "hello")
    result = await anyio.to_thread.run_sync(
        lambda: hubbub_cli("import-slack", str(bad), "--dry-run")
    )
    assert result.returncode == 1
    assert "no users.json: not a Slack export" in result.stderr


BIG_DAYS, BIG_PER_DAY = 40, 500


def write_big_export(path: Path) -> int:
    """20,000 messages in one channel, a daily file of 500 each; return the JSON's size."""
    size = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("users.json", orjson.dumps([{"id": "U1", "name": "alice"}]))
        archive.writestr(
            "channels.json",
            orjson.dumps([{"id": "C1", "name": "big", "created": T0, "members": ["U1"]}]),
        )
        for day in range(BIG_DAYS):
            messages = [
                {
                    "type": "message",
                    "user": "U1",
                    "ts": ts(day * 86400 + n),
                    "text": f"message {day}-{n} " + "lorem ipsum dolor sit amet " * 8,
                    "reactions": [{"name": "eyes", "users": ["U1"], "count": 1}],
                }
                for n in range(BIG_PER_DAY)
            ]
            data = orjson.dumps(messages)
            size += len(data)
            name = datetime.fromtimestamp(T0 + day * 86400, UTC).strftime("%Y-%m-%d")
            archive.writestr(f"big/{name}.json", data)
    return size


@pytest.mark.slow  # ~12 s: tracemalloc slows every allocation down (5 s without)
@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_twenty_thousand_messages_import_in_bounded_memory(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.replace(sqlite_synchronous="NORMAL")
    export = tmp_path / "big.zip"
    json_bytes = write_big_export(export)
    tracemalloc.start()
    try:
        summary = await import_export(settings, export)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.messages == BIG_DAYS * BIG_PER_DAY
    assert summary.reactions == BIG_DAYS * BIG_PER_DAY
    # Holding the export's messages at once would take several times its JSON size; one
    # daily file (and one batch) at a time stays far below it.
    assert json_bytes > 5_000_000
    assert peak < 8_000_000, f"peak {peak / 1e6:.1f} MB of Python memory"
    async with command_services(settings) as services:
        last = await services.messages.uow.read(
            lambda tx: tx.fetchone("SELECT last_seq FROM rooms WHERE name = 'big'")
        )
    assert last is not None
    assert int(last[0]) == BIG_DAYS * BIG_PER_DAY
