"""`hubbub admin ...` (issue #12), the real command line in a process of its own, on the
database of a running app: promote, demote, create-user (its link sets the password),
create-invite (its link signs people up), and clear failures. On both engines."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import anyio.to_thread
import pytest

import hubbub
from hubbub.config import Settings
from tests.api.conftest import API, Account, assert_problem, sign_up
from tests.api.servers import Node, running

pytestmark = [pytest.mark.anyio, pytest.mark.slow]  # each command is a Python process

PASSWORD = "correct horse"
NEW_PASSWORD = "battery staple 42"
# The code under test, whatever the venv's editable install points at.
SOURCE = str(Path(hubbub.__file__).resolve().parents[1])


async def hubbub_admin(
    settings: Settings, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m hubbub admin ARGS` on the settings' database (given with
    --database-url unless `env` names it) and return what it did."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
    clean["PYTHONPATH"] = SOURCE
    command = [sys.executable, "-m", "hubbub", "admin", *args]
    if env is None:
        command += ["--database-url", settings.database_url]

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            env={**clean, **(env or {})},
            timeout=60,
            check=False,
        )

    return await anyio.to_thread.run_sync(run)


def succeeded(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout


async def sign_in(node: Node, username: str, password: str = PASSWORD) -> Account:
    r = await node.client.post(f"{API}/sessions", json={"username": username, "password": password})
    assert r.status_code == 201, r.text
    return Account(username, r.json()["token"], r.json()["user"], node.client)


async def admin_answer(account: Account, status: int) -> None:
    """GET /admin/users answers `status` within 5 s: the running app hears of a command's
    change through its poll of the event log (the command line has no bus to announce it
    on), which forgets the bearer tokens it cached (services/authcache.py)."""
    deadline = time.monotonic() + 5
    while (r := await account.get("/admin/users")).status_code != status:
        assert time.monotonic() < deadline, r.text
        await anyio.sleep(0.05)


async def test_promote_and_demote_change_who_runs_the_server_promptly(settings: Settings) -> None:
    async with running(dataclasses.replace(settings, event_poll_seconds=0.2)) as node:
        alice = await sign_up(node.client, "alice")
        bob = await sign_up(node.client, "bob")
        assert_problem(await bob.get("/admin/users"), 403, "not_allowed")
        out = succeeded(await hubbub_admin(settings, "promote", "BOB"))
        assert "BOB is a server admin" in out
        await admin_answer(bob, 200)  # the running app sees it
        assert (await bob.get("/me")).json()["is_admin"] is True
        out = succeeded(
            await hubbub_admin(
                settings, "demote", "bob", env={"HUBBUB_DATABASE_URL": settings.database_url}
            )
        )
        assert "bob is no longer a server admin" in out
        await admin_answer(bob, 403)
        assert_problem(await bob.get("/admin/users"), 403, "not_allowed")
        # The command line is in the audit log as an actor with no account.
        entries = (await alice.get("/admin/audit")).json()["entries"]
        assert [(e["actor"], e["action"], e["target"]) for e in entries] == [
            (None, "admin.demote", "bob"),
            (None, "admin.promote", "bob"),
        ]


async def test_the_last_admin_cannot_be_demoted_from_the_command_line(
    settings: Settings,
) -> None:
    async with running(settings) as node:
        alice = await sign_up(node.client, "alice")
        result = await hubbub_admin(settings, "demote", "alice")
        assert result.returncode == 1
        assert "last_admin" in result.stderr
        assert "no longer" not in result.stdout
        assert (await alice.get("/me")).json()["is_admin"] is True


@pytest.mark.parametrize("command", ["promote", "demote"])
async def test_an_unknown_username_fails_with_a_clear_message(
    settings: Settings, command: str
) -> None:
    async with running(settings) as node:
        alice = await sign_up(node.client, "alice")
        before = (await alice.get("/admin/audit")).json()
        result = await hubbub_admin(settings, command, "nobody")
        assert result.returncode != 0
        assert result.stderr.strip() == "user_not_found: No user 'nobody'"
        assert "admin" not in result.stdout
        assert (await alice.get("/admin/audit")).json() == before


async def test_create_user_prints_a_link_whose_code_sets_the_password(
    settings: Settings,
) -> None:
    async with running(dataclasses.replace(settings, registration="closed")) as node:
        await sign_up_first_admin_from_the_command_line(settings, node)
        out = succeeded(
            await hubbub_admin(
                settings,
                "create-user",
                "carol",
                "--display-name",
                "Carol C.",
                "--public-url",
                "https://chat.example.com",
            )
        )
        found = re.search(r"https://chat\.example\.com/reset/([A-Za-z0-9_-]+)\s*$", out)
        assert found, out
        assert "carol" in out
        code = found[1]
        # No password signs in before the link is used.
        r = await node.client.post(
            f"{API}/sessions", json={"username": "carol", "password": PASSWORD}
        )
        assert_problem(r, 401, "invalid_credentials")
        r = await node.client.post(
            f"{API}/password-resets/{code}", json={"new_password": NEW_PASSWORD}
        )
        assert r.status_code == 204, r.text
        carol = await sign_in(node, "carol", NEW_PASSWORD)
        assert carol.user["display_name"] == "Carol C."
        assert carol.user["is_admin"] is False
        again = await node.client.post(
            f"{API}/password-resets/{code}", json={"new_password": "yet another one"}
        )
        assert_problem(again, 410, "reset_expired")
        # A taken username fails, and makes nothing.
        taken = await hubbub_admin(settings, "create-user", "CAROL")
        assert taken.returncode == 1
        assert taken.stderr.startswith("username_taken:")
        assert "reset" not in taken.stdout


async def sign_up_first_admin_from_the_command_line(settings: Settings, node: Node) -> Account:
    """On a fresh server (here a closed one): `hubbub admin create-user` makes the first
    account, which is the server's admin; its link sets the password."""
    out = succeeded(await hubbub_admin(settings, "create-user", "root"))
    found = re.search(r"http://127\.0\.0\.1:8081/reset/(\S+)\s*$", out)
    assert found, out
    r = await node.client.post(f"{API}/password-resets/{found[1]}", json={"new_password": PASSWORD})
    assert r.status_code == 204, r.text
    root = await sign_in(node, "root")
    assert root.user["is_admin"] is True
    assert (await root.get("/admin/users")).status_code == 200
    return root


async def test_create_invite_prints_a_link_whose_code_signs_people_up(
    settings: Settings,
) -> None:
    async with running(dataclasses.replace(settings, registration="invite")) as node:
        started_ms = int(time.time() * 1000)
        out = succeeded(
            await hubbub_admin(settings, "create-invite", "--uses", "2", "--hours", "3")
        )
        found = re.fullmatch(r"http://127\.0\.0\.1:8081/invite/([A-Za-z0-9_-]+)\n", out)
        assert found, out
        code = found[1]
        r = await node.client.post(
            f"{API}/accounts", json={"username": "bob", "password": PASSWORD}
        )
        assert_problem(r, 403, "invite_required")
        made = []
        for name in ("alice", "bob"):
            r = await node.client.post(
                f"{API}/accounts",
                json={"username": name, "password": PASSWORD, "invite_code": code},
            )
            assert r.status_code == 201, r.text
            made.append(Account(name, r.json()["token"], r.json()["user"], node.client))
        r = await node.client.post(
            f"{API}/accounts", json={"username": "carol", "password": PASSWORD, "invite_code": code}
        )
        assert_problem(r, 403, "invite_invalid")
        alice = made[0]
        assert alice.user["is_admin"] is True, "the first account, by invite"
        listed = (await alice.get("/invites")).json()["invites"]
        assert [(i["code"], i["max_uses"], i["uses"]) for i in listed] == [(code, 2, 2)]
        expires_ms = iso_ms(listed[0]["expires_at"])
        hours_3 = 3 * 3600 * 1000
        assert started_ms + hours_3 - 1000 <= expires_ms <= int(time.time() * 1000) + hours_3


def iso_ms(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


@pytest.mark.parametrize(
    ("uses", "hours", "message"),
    [("0", "1", "max_uses"), ("1001", "1", "max_uses"), ("1", "721", "expires_in_hours")],
)
async def test_create_invite_refuses_what_the_api_refuses(
    settings: Settings, uses: str, hours: str, message: str
) -> None:
    result = await hubbub_admin(settings, "create-invite", "--uses", uses, "--hours", hours)
    assert result.returncode == 1
    assert result.stderr.startswith("invalid:")
    assert message in result.stderr
    assert result.stdout == ""
    async with running(settings) as node:
        stored = await node.services.invites.uow.read(
            lambda tx: tx.fetchall("SELECT code FROM invites")
        )
    assert stored == []
