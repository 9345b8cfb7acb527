"""Registration policy and invites (issue #12): HUBBUB_REGISTRATION=open|invite|closed, making,
listing and revoking invites, and sign-ups that race for the last use of one. Every refusal
is checked to change nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import anyio
import httpx
import pytest

from hubbub.config import Registration, Settings
from hubbub.wire import rfc3339
from tests.api.conftest import API, Account, assert_problem, sign_up
from tests.api.servers import Node, running
from tests.fakes import START_MS, FakeClock

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse"
HOUR_MS = 3600 * 1000
INVITE_FIELDS = {"code", "url", "max_uses", "uses", "expires_at", "revoked"}


def with_policy(settings: Settings, registration: Registration, **more: Any) -> Settings:
    return dataclasses.replace(settings, registration=registration, **more)


async def create_account(
    client: httpx.AsyncClient, username: str, invite_code: str | None = None, **more: Any
) -> httpx.Response:
    body: dict[str, Any] = {"username": username, "password": PASSWORD, **more}
    if invite_code is not None:
        body["invite_code"] = invite_code
    return await client.post(f"{API}/accounts", json=body)


async def join_with(client: httpx.AsyncClient, username: str, code: str) -> Account:
    r = await create_account(client, username, code)
    assert r.status_code == 201, r.text
    return Account(username, r.json()["token"], r.json()["user"], client)


async def usernames(admin: Account) -> list[str]:
    """Every account, as the admins' list shows them."""
    r = await admin.get("/admin/users", params={"limit": 200})
    assert r.status_code == 200, r.text
    return [u["username"] for u in r.json()["users"]]


async def invites_of(account: Account) -> list[dict[str, Any]]:
    r = await account.get("/invites")
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"invites"}
    return list(r.json()["invites"])


async def state_of(account: Account, code: str) -> tuple[int, bool]:
    """(uses, revoked) of an invite, as its list shows it to `account`."""
    return next((i["uses"], i["revoked"]) for i in await invites_of(account) if i["code"] == code)


async def invite(account: Account, **body: Any) -> dict[str, Any]:
    r = await account.post("/invites", body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def first_admin(node: Node) -> Account:
    """The server's first account, made as an operator would on an invite-only server: an
    invite from the command line (`hubbub admin create-invite`), then signing up with it."""
    made = await node.services.invites.create(None)
    admin = await join_with(node.client, "alice", made.code)
    assert admin.user["is_admin"] is True
    return admin


@pytest.fixture
async def invite_only(settings: Settings, clock: FakeClock) -> AsyncIterator[Node]:
    """HUBBUB_REGISTRATION=invite, with time that moves only when the test says."""
    async with running(with_policy(settings, "invite"), clock) as node:
        yield node


# -- HUBBUB_REGISTRATION=invite -----------------------------------------------------------------


async def test_invite_only_sign_up_without_a_code_is_403_and_makes_no_account(
    invite_only: Node,
) -> None:
    admin = await first_admin(invite_only)
    for body in ({}, {"invite_code": None}, {"invite_code": ""}):
        r = await invite_only.client.post(
            f"{API}/accounts", json={"username": "bob", "password": PASSWORD, **body}
        )
        assert_problem(r, 403, "invite_required")
    assert await usernames(admin) == ["alice"]


async def test_invite_only_sign_up_with_a_good_code_works_and_counts_the_use(
    invite_only: Node,
) -> None:
    admin = await first_admin(invite_only)
    code = (await invite(admin, max_uses=2))["code"]
    bob = await join_with(invite_only.client, "bob", code)
    assert bob.user["is_admin"] is False
    assert (await bob.get("/me")).json()["username"] == "bob"
    rooms = (await bob.get("/rooms")).json()["rooms"]
    assert [r["id"] for r in rooms] == ["general"], "in the lobby like everyone"
    assert (await state_of(admin, code)) == (1, False)
    await join_with(invite_only.client, "carol", code)
    assert (await state_of(admin, code)) == (2, False)
    assert await usernames(admin) == ["alice", "bob", "carol"]


async def test_a_used_up_invite_is_403_invite_invalid(invite_only: Node) -> None:
    admin = await first_admin(invite_only)
    code = (await invite(admin))["code"]
    await join_with(invite_only.client, "bob", code)
    assert_problem(await create_account(invite_only.client, "carol", code), 403, "invite_invalid")
    assert (await state_of(admin, code)) == (1, False)
    assert await usernames(admin) == ["alice", "bob"]


async def test_an_unknown_code_is_403_invite_invalid(invite_only: Node) -> None:
    admin = await first_admin(invite_only)
    real = (await invite(admin))["code"]
    for code in ("nope", real.upper(), real + "x", real[:-1], " " + real):
        r = await create_account(invite_only.client, "bob", code)
        assert_problem(r, 403, "invite_invalid")
    assert (await state_of(admin, real)) == (0, False)
    assert await usernames(admin) == ["alice"]
    await join_with(invite_only.client, "bob", real)


async def test_a_revoked_invite_is_403_invite_invalid(invite_only: Node) -> None:
    admin = await first_admin(invite_only)
    code = (await invite(admin, max_uses=5))["code"]
    await join_with(invite_only.client, "bob", code)
    assert (await admin.delete(f"/invites/{code}")).status_code == 204
    assert_problem(await create_account(invite_only.client, "carol", code), 403, "invite_invalid")
    assert (await state_of(admin, code)) == (1, True)
    assert await usernames(admin) == ["alice", "bob"]


async def test_an_invite_works_until_it_expires(invite_only: Node, clock: FakeClock) -> None:
    admin = await first_admin(invite_only)
    made = await invite(admin, max_uses=10, expires_in_hours=2)
    assert made["expires_at"] == rfc3339(START_MS + 2 * HOUR_MS)
    clock.advance_ms(2 * HOUR_MS - 1)
    await join_with(invite_only.client, "bob", made["code"])
    clock.advance_ms(1)
    r = await create_account(invite_only.client, "carol", made["code"])
    assert_problem(r, 403, "invite_invalid")
    assert (await state_of(admin, made["code"])) == (1, False)
    assert await usernames(admin) == ["alice", "bob"]


async def test_a_sign_up_refused_for_another_reason_does_not_spend_a_use(
    invite_only: Node,
) -> None:
    admin = await first_admin(invite_only)
    code = (await invite(admin))["code"]
    assert_problem(await create_account(invite_only.client, "ALICE", code), 409, "username_taken")
    r = await invite_only.client.post(
        f"{API}/accounts", json={"username": "bob", "password": "password", "invite_code": code}
    )
    assert_problem(r, 422, "weak_password")
    assert_problem(await create_account(invite_only.client, "b", code), 422, "invalid")
    assert (await state_of(admin, code)) == (0, False)
    await join_with(invite_only.client, "bob", code)


async def test_an_invite_link_opens_the_clients_sign_up(invite_only: Node) -> None:
    admin = await first_admin(invite_only)
    made = await invite(admin)
    r = await invite_only.client.get(f"/invite/{made['code']}")
    assert r.status_code == 302
    assert r.headers["location"] == f"/#/invite/{made['code']}"


# -- HUBBUB_REGISTRATION=open and closed --------------------------------------------------------


async def test_open_sign_up_needs_no_code_but_a_given_one_must_be_good(
    client: httpx.AsyncClient, alice: Account
) -> None:
    code = (await invite(alice))["code"]
    assert (await create_account(client, "bob")).status_code == 201
    assert_problem(await create_account(client, "carol", "nope"), 403, "invite_invalid")
    await join_with(client, "carol", code)
    assert (await state_of(alice, code)) == (1, False)
    assert_problem(await create_account(client, "dave", code), 403, "invite_invalid")
    assert await usernames(alice) == ["alice", "bob", "carol"]


async def test_closed_registration_refuses_every_sign_up_but_admins_make_accounts(
    settings: Settings,
) -> None:
    async with running(with_policy(settings, "closed")) as node:
        # The operator's first account, from the command line: `hubbub admin create-user`.
        _, link = await node.services.admin.create_user(None, "alice")
        r = await node.client.post(
            f"{API}/password-resets/{link.code}", json={"new_password": PASSWORD}
        )
        assert r.status_code == 204, r.text
        signed_in = await node.client.post(
            f"{API}/sessions", json={"username": "alice", "password": PASSWORD}
        )
        assert signed_in.status_code == 201, signed_in.text
        body = signed_in.json()
        admin = Account("alice", body["token"], body["user"], node.client)
        code = (await invite(admin))["code"]
        for given in (None, code, "nope"):
            r = await create_account(node.client, "bob", given)
            assert_problem(r, 403, "registration_closed")
        assert (await state_of(admin, code)) == (0, False)
        assert await usernames(admin) == ["alice"]
        made = await admin.post("/admin/users", {"username": "bob"})
        assert made.status_code == 201, made.text
        reset = made.json()["reset"]["code"]
        r = await node.client.post(
            f"{API}/password-resets/{reset}", json={"new_password": "bob's own password"}
        )
        assert r.status_code == 204, r.text
        bob = await node.client.post(
            f"{API}/sessions", json={"username": "bob", "password": "bob's own password"}
        )
        assert bob.status_code == 201, bob.text
        assert await usernames(admin) == ["alice", "bob"]


# -- making, listing and revoking invites -------------------------------------------------------


async def test_an_admin_makes_an_invite_with_the_defaults(
    settings: Settings, clock: FakeClock
) -> None:
    public = dataclasses.replace(settings, public_url="https://chat.example.com/")
    async with running(public, clock) as node:
        alice = await sign_up(node.client, "alice")
        for body in (None, {}, {"max_uses": None, "expires_in_hours": None}):
            r = await alice.post("/invites", body)
            assert r.status_code == 201, r.text
            made = r.json()
            assert set(made) == INVITE_FIELDS
            assert made["url"] == f"https://chat.example.com/invite/{made['code']}"
            assert (made["max_uses"], made["uses"], made["revoked"]) == (1, 0, False)
            assert made["expires_at"] == rfc3339(START_MS + 168 * HOUR_MS)
            assert len(made["code"]) >= 16
        assert len({i["code"] for i in await invites_of(alice)}) == 3


@pytest.mark.parametrize(
    ("max_uses", "hours"), [(1, 1), (1000, 720), (7, 24)], ids=["least", "most", "between"]
)
async def test_invites_take_1_to_1000_uses_and_1_to_720_hours(
    settings: Settings, clock: FakeClock, max_uses: int, hours: int
) -> None:
    async with running(settings, clock) as node:
        alice = await sign_up(node.client, "alice")
        made = await invite(alice, max_uses=max_uses, expires_in_hours=hours)
        assert made["max_uses"] == max_uses
        assert made["expires_at"] == rfc3339(START_MS + hours * HOUR_MS)
        assert await invites_of(alice) == [made]


@pytest.mark.parametrize(
    "body",
    [
        {"max_uses": 0},
        {"max_uses": 1001},
        {"max_uses": -1},
        {"max_uses": "2"},
        {"max_uses": 2.5},
        {"expires_in_hours": 0},
        {"expires_in_hours": 721},
        {"expires_in_hours": True},
        {"uses": 5},
    ],
)
async def test_out_of_range_invites_are_422_and_make_nothing(
    alice: Account, body: dict[str, Any]
) -> None:
    problem = assert_problem(await alice.post("/invites", body), 422, "invalid")
    named = {problem.get("field")} | {e["field"] for e in problem.get("errors") or []}
    assert set(body) <= named or "" in named, problem
    assert await invites_of(alice) == []


async def test_only_admins_make_invites_unless_members_may(settings: Settings) -> None:
    async with running(settings) as node:
        alice = await sign_up(node.client, "alice")
        bob = await sign_up(node.client, "bob")
        assert_problem(await bob.post("/invites", {}), 403, "not_allowed")
        assert await invites_of(alice) == []
        assert await invites_of(bob) == []
    async with running(dataclasses.replace(settings, members_can_invite=True)) as node:
        bob.client = node.client
        made = await invite(bob, max_uses=3)
        assert made["max_uses"] == 3
        assert await invites_of(bob) == [made]


async def test_members_see_their_own_invites_and_admins_see_all_newest_first(
    settings: Settings, clock: FakeClock
) -> None:
    async with running(dataclasses.replace(settings, members_can_invite=True), clock) as node:
        alice = await sign_up(node.client, "alice")
        bob = await sign_up(node.client, "bob")
        carol = await sign_up(node.client, "carol")
        made: list[dict[str, Any]] = []
        for who in (alice, bob, carol, bob):
            made.append(await invite(who))
            clock.advance(1)
        assert [i["code"] for i in await invites_of(alice)] == [i["code"] for i in made[::-1]]
        assert [i["code"] for i in await invites_of(bob)] == [made[3]["code"], made[1]["code"]]
        assert [i["code"] for i in await invites_of(carol)] == [made[2]["code"]]


async def test_revoking_an_invite_is_for_its_maker_or_an_admin(settings: Settings) -> None:
    async with running(with_policy(settings, "invite", members_can_invite=True)) as node:
        alice = await first_admin(node)
        bob = await join_with(node.client, "bob", (await invite(alice))["code"])
        carol = await join_with(node.client, "carol", (await invite(alice))["code"])
        alices = (await invite(alice, max_uses=5))["code"]
        bobs = (await invite(bob, max_uses=5))["code"]
        before = await invites_of(alice)
        for code in (alices, "nope", "x" * 128):
            assert_problem(await bob.delete(f"/invites/{code}"), 404, "invite_not_found")
        assert_problem(await carol.delete(f"/invites/{bobs}"), 404, "invite_not_found")
        assert await invites_of(alice) == before
        await join_with(node.client, "dave", alices)  # still works
        # Its maker may revoke it, and so may a server admin; twice is no error.
        assert (await bob.delete(f"/invites/{bobs}")).status_code == 204
        assert (await alice.delete(f"/invites/{bobs}")).status_code == 204
        assert (await alice.delete(f"/invites/{alices}")).status_code == 204
        assert_problem(await create_account(node.client, "erin", bobs), 403, "invite_invalid")
        assert_problem(await create_account(node.client, "erin", alices), 403, "invite_invalid")
        revoked = {i["code"]: i["revoked"] for i in await invites_of(alice)}
        assert revoked[alices] is True
        assert revoked[bobs] is True
        actions = [
            (e["actor"], e["action"]) for e in (await alice.get("/admin/audit")).json()["entries"]
        ]
        assert actions.count(("bob", "invite.revoke")) == 1, "a second revoke changes nothing"
        assert ("alice", "invite.revoke") in actions
        assert ("bob", "invite.create") in actions


async def test_invites_are_rate_limited_per_account(settings: Settings) -> None:
    async with running(dataclasses.replace(settings, rate_limits="invites=2/day")) as node:
        alice = await sign_up(node.client, "alice")
        await invite(alice)
        await invite(alice)
        assert_problem(await alice.post("/invites", {}), 429, "rate_limited")
        assert len(await invites_of(alice)) == 2


# -- sign-ups racing for the last use ----------------------------------------------------------


async def race_sign_ups(
    nodes: list[Node], code: str, count: int, prefix: str
) -> list[httpx.Response]:
    """`count` sign-ups with `code` at once, spread over `nodes` (each its own app, its own
    database connections and writer: on PostgreSQL, truly concurrent transactions)."""
    answers: list[httpx.Response] = []

    async def one(i: int) -> None:
        node = nodes[i % len(nodes)]
        answers.append(await create_account(node.client, f"{prefix}{i:02}", code))

    async with anyio.create_task_group() as tg:
        for i in range(count):
            tg.start_soon(one, i)
    return answers


@pytest.mark.parametrize("node_count", [1, 3], ids=["one node", "three nodes"])
async def test_concurrent_sign_ups_never_share_the_last_use_of_an_invite(
    settings: Settings, node_count: int
) -> None:
    async with AsyncExitStack() as stack:
        nodes = [
            await stack.enter_async_context(running(with_policy(settings, "invite")))
            for _ in range(node_count)
        ]
        admin = await first_admin(nodes[0])
        for max_uses, prefix in ((1, "single"), (3, "triple")):
            code = (await invite(admin, max_uses=max_uses))["code"]
            answers = await race_sign_ups(nodes, code, 20, prefix)
            won = [r for r in answers if r.status_code == 201]
            assert len(won) == max_uses, [r.text for r in answers]
            for r in answers:
                if r.status_code != 201:
                    assert_problem(r, 403, "invite_invalid")
            uses = {i["code"]: i["uses"] for i in await invites_of(admin)}
            assert uses[code] == max_uses
            winners = {r.json()["user"]["username"] for r in won}
            made = {u for u in await usernames(admin) if u.startswith(prefix)}
            assert made == winners, "every loser's account was rolled back"


@pytest.mark.parametrize("node_count", [1, 3], ids=["one node", "three nodes"])
async def test_concurrent_first_sign_ups_make_exactly_one_admin(
    settings: Settings, node_count: int
) -> None:
    async with AsyncExitStack() as stack:
        nodes = [await stack.enter_async_context(running(settings)) for _ in range(node_count)]
        answers: list[httpx.Response] = []

        async def one(i: int) -> None:
            answers.append(await create_account(nodes[i % node_count].client, f"first{i:02}"))

        async with anyio.create_task_group() as tg:
            for i in range(12):
                tg.start_soon(one, i)
        assert [r.status_code for r in answers] == [201] * 12
        admins = [r.json()["user"]["username"] for r in answers if r.json()["user"]["is_admin"]]
        assert len(admins) == 1, admins
