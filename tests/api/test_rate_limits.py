"""Rate limits on everything a person can repeat (services/ratelimits.py): each budget refuses
past its rate with 429 `rate_limited` and Retry-After, every limited answer carries the IETF
RateLimit-Policy and RateLimit headers, and budgets are per account or per client address."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from hubbub.app import create_app
from hubbub.config import ConfigError, Settings
from hubbub.services.ratelimits import DEFAULT_LIMITS
from tests.api.conftest import API, Account, assert_problem

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse"
Spend = Callable[[Account, str, str], Awaitable[httpx.Response]]


MARGIN_S = 15  # no test here spends a budget for longer than this


@pytest.fixture(autouse=True)
def clear_of_a_minute_boundary() -> None:
    """Start well inside a clock minute. The limiter's sliding window counts the previous
    minute's hits weighted by how much of it the window still covers, so just after a
    boundary 3 hits weigh 2.99: a budget of 3/minute spent over the boundary lets a fourth
    through (a documented approximation of the algorithm, not a bug), and the tests that
    expect the 429 would flake about one run in twenty under load."""
    into = time.time() % 60
    if into > 60 - MARGIN_S:
        time.sleep(60 - into + 0.2)


def settings_with(tmp_path: Path, rate_limits: str) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'h.db'}",
        password_hashing="fast",
        rate_limits=rate_limits,
        event_poll_seconds=3600,
    )


@pytest.fixture
async def limited(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[FastAPI]:
    """The app with the rate limits the test's `limits` mark names (default: the defaults)."""
    marker = request.node.get_closest_marker("limits")
    spec = marker.args[0] if marker else ""
    async with LifespanManager(create_app(settings_with(tmp_path, spec))) as manager:
        yield manager.app  # type: ignore[misc]


def client_from(app: FastAPI, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 4000)), base_url="http://t"
    )


async def account(c: httpx.AsyncClient, name: str) -> Account:
    r = await c.post(f"{API}/accounts", json={"username": name, "password": PASSWORD})
    assert r.status_code == 201, r.text
    return Account(name, r.json()["token"], r.json()["user"], c)


def quota(r: httpx.Response, name: str) -> tuple[int, int, int, int]:
    """(q, w, r, t) of budget `name` in the answer's RateLimit-Policy and RateLimit fields."""
    policy = re.search(rf'"{name}";q=(\d+);w=(\d+)', r.headers.get("ratelimit-policy", ""))
    state = re.search(rf'"{name}";r=(\d+);t=(\d+)', r.headers.get("ratelimit", ""))
    assert policy, f"no {name} policy in {dict(r.headers)}"
    assert state, f"no {name} state in {dict(r.headers)}"
    return int(policy[1]), int(policy[2]), int(state[1]), int(state[2])


@pytest.mark.limits("messages=3/minute")
async def test_sends_past_the_budget_get_429_and_every_answer_says_what_is_left(
    limited: FastAPI,
) -> None:
    async with client_from(limited, "10.0.0.1") as c:
        alice, bob = await account(c, "alice"), await account(c, "bob")
        left = []
        for i in range(3):
            r = await alice.post("/rooms/general/messages", {"text": f"m{i}"})
            assert r.status_code == 201
            q, w, remaining, _ = quota(r, "messages")
            assert (q, w) == (3, 60)
            left.append(remaining)
        assert left == [2, 1, 0]
        refused = await alice.post("/rooms/general/messages", {"text": "one too many"})
        assert_problem(refused, 429, "rate_limited")
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert quota(refused, "messages")[2] == 0
        # Edits and deletes spend the same budget; another account has its own.
        assert (await alice.delete("/messages/nope")).status_code == 429
        assert (await bob.post("/rooms/general/messages", {"text": "mine"})).status_code == 201
        history = await bob.get("/rooms/general/messages")
        assert [m["text"] for m in history.json()["messages"]] == ["m0", "m1", "m2", "mine"]


async def _react(a: Account, room: str, message: str) -> httpx.Response:
    return await a.put(f"/messages/{message}/reactions/ok")


async def _make_room(a: Account, room: str, message: str) -> httpx.Response:
    return await a.post("/rooms", {"name": "r", "visibility": "public"})


async def _open_dm(a: Account, room: str, message: str) -> httpx.Response:
    return await a.post("/dms", {"username": "bob"})


async def _add_bob(a: Account, room: str, message: str) -> httpx.Response:
    return await a.put(f"/rooms/{room}/members/bob")


@pytest.mark.parametrize(
    ("budget", "spend"),
    [
        ("reactions", _react),
        ("rooms", _make_room),
        ("dms", _open_dm),
        ("member_adds", _add_bob),
        ("member_adds_per_user", _add_bob),
    ],
)
async def test_each_account_budget_refuses_past_its_rate(
    tmp_path: Path, budget: str, spend: Spend
) -> None:
    settings = settings_with(tmp_path, f"{budget}=2/minute")
    async with (
        LifespanManager(create_app(settings)) as manager,
        client_from(manager.app, "10.0.0.2") as c,  # type: ignore[arg-type]
    ):
        if True:
            alice = await account(c, "alice")
            await account(c, "bob")
            made = await alice.post("/rooms", {"name": "mine", "visibility": "public"})
            room = made.json()["id"]
            message = (await alice.post(f"/rooms/{room}/messages", {"text": "x"})).json()["id"]
            used = 1 if budget == "rooms" else 0  # making `room` spent one
            answers = [await spend(alice, room, message) for _ in range(3 - used)]
            assert all(r.status_code < 300 for r in answers[:-1]), [r.text for r in answers]
            assert_problem(answers[-1], 429, "rate_limited")
            assert "retry-after" in answers[-1].headers


@pytest.mark.limits("sign_up=2/minute")
async def test_sign_ups_are_limited_per_client_address(limited: FastAPI) -> None:
    async with client_from(limited, "10.0.0.3") as c, client_from(limited, "10.0.0.4") as other:
        await account(c, "one")
        await account(c, "two")
        r = await c.post(f"{API}/accounts", json={"username": "three", "password": PASSWORD})
        assert_problem(r, 429, "rate_limited")
        await account(other, "four")


@pytest.mark.limits("sign_in=3/minute")
async def test_failed_sign_ins_are_limited_per_address_and_successes_do_not_count(
    limited: FastAPI,
) -> None:
    async with client_from(limited, "10.0.0.5") as c:
        await account(c, "alice")
        for _ in range(5):  # successes spend nothing
            r = await c.post(f"{API}/sessions", json={"username": "alice", "password": PASSWORD})
            assert r.status_code == 201
        for _ in range(3):
            r = await c.post(f"{API}/sessions", json={"username": "alice", "password": "wrong!!!"})
            assert_problem(r, 401, "invalid_credentials")
        r = await c.post(f"{API}/sessions", json={"username": "alice", "password": PASSWORD})
        assert_problem(r, 429, "rate_limited")


@pytest.mark.limits("sign_in_account=3/minute")
async def test_an_account_locked_by_guessers_still_opens_from_a_signed_in_device(
    limited: FastAPI,
) -> None:
    async with client_from(limited, "10.0.0.6") as home:
        alice = await account(home, "alice")
        for i in range(3):  # a guesser rotating addresses
            async with client_from(limited, f"10.9.0.{i}") as guesser:
                r = await guesser.post(
                    f"{API}/sessions", json={"username": "alice", "password": f"guess-{i}-xx"}
                )
                assert_problem(r, 401, "invalid_credentials")
        async with client_from(limited, "10.9.9.9") as stranger:
            r = await stranger.post(
                f"{API}/sessions", json={"username": "ALICE", "password": PASSWORD}
            )
            assert_problem(r, 429, "rate_limited")  # locked, even with the right password
        r = await home.post(
            f"{API}/sessions",
            json={"username": "alice", "password": PASSWORD},
            headers=alice.headers,  # a session of hers that is still signed in
        )
        assert r.status_code == 201, r.text
        async with client_from(limited, "10.9.9.10") as anywhere:  # the lock is lifted
            r = await anywhere.post(
                f"{API}/sessions", json={"username": "alice", "password": PASSWORD}
            )
            assert r.status_code == 201


@pytest.mark.limits("classic_post=3/minute")
async def test_classic_posts_are_limited_per_address_in_the_classic_error_shape(
    limited: FastAPI,
) -> None:
    async with client_from(limited, "10.0.0.7") as c, client_from(limited, "10.0.0.8") as other:
        for i in range(3):
            r = await c.post("/message", json={"user": "u", "text": str(i)})
            assert r.status_code == 200
            assert quota(r, "classic_post")[2] == 2 - i
        r = await c.post("/message", json={"user": "u", "text": "no"})
        assert r.status_code == 429
        assert r.json() == {"ok": False, "error": r.json()["error"], "code": "rate_limited"}
        assert r.headers["retry-after"]
        assert (await other.post("/message", json={"user": "u", "text": "ok"})).status_code == 200


async def test_the_classic_exercise_burst_passes_the_default_limits(limited: FastAPI) -> None:
    async with client_from(limited, "10.0.0.9") as c:
        for i in range(300):
            r = await c.post("/message", json={"user": "superman", "text": f"hello {i}"})
            assert r.status_code == 200, r.text
        r = await c.get("/messages?limit=1000")
        assert len(r.json()["messages"]) == 300


async def test_with_limits_off_nothing_is_limited_or_reported(tmp_path: Path) -> None:
    async with (
        LifespanManager(create_app(settings_with(tmp_path, "off"))) as manager,
        client_from(manager.app, "10.0.0.10") as c,  # type: ignore[arg-type]
    ):
        if True:
            alice = await account(c, "alice")
            for i in range(200):  # past the default 120/minute
                r = await alice.post("/rooms/general/messages", {"text": str(i)})
                assert r.status_code == 201
            assert "ratelimit" not in r.headers
            assert "ratelimit-policy" not in r.headers


@pytest.mark.parametrize("spec", ["nonsense=1/minute", "messages=lots", "messages"])
def test_a_bad_rate_limit_setting_fails_at_start(tmp_path: Path, spec: str) -> None:
    with pytest.raises(ConfigError, match="HUBBUB_RATE_LIMITS"):
        create_app(settings_with(tmp_path, spec))


def test_every_budget_is_documented_in_api_md() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    for name, (rate, _) in DEFAULT_LIMITS.items():
        assert f"| `{name}` | {rate} |" in text, f"docs/api.md does not list {name}"
