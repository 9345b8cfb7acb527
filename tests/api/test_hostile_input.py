"""The input bugs a hostile pass found (issue #11), each a regression test, on both engines:
invalid Unicode and encodings, integers that are not ASCII, ambiguous JSON, invisible and
bidirectional names, padded idempotency keys, cross-site classic posts, reaction floods,
the public room directory's size."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import API, Account, assert_problem, sign_up

pytestmark = pytest.mark.anyio


async def raw_post(account: Account, path: str, content: bytes, **headers: str) -> httpx.Response:
    return await account.client.post(
        API + path,
        content=content,
        headers={**account.headers, "Content-Type": "application/json", **headers},
    )


# -- Unicode ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"text": "a\\ud800b"}',  # a lone high surrogate, escaped
        b'{"text": "\\udfff"}',  # a lone low one
        b'{"text": "ok", "reply_to": "\\ud800"}',
        b'{"text": "x", "extra": ["\\ud800"]}',  # anywhere in the body
    ],
)
async def test_lone_surrogates_are_422_and_store_nothing(alice: Account, body: bytes) -> None:
    r = await raw_post(alice, "/rooms/general/messages", body)
    assert_problem(r, 422, "invalid")
    history = await alice.get("/rooms/general/messages")
    assert history.json()["messages"] == []


async def test_a_surrogate_pair_is_text_not_an_error(alice: Account) -> None:
    r = await raw_post(alice, "/rooms/general/messages", b'{"text": "\\ud83d\\ude00"}')
    assert r.status_code == 201, r.text
    assert r.json()["text"] == "\U0001f600"


async def test_edit_with_a_lone_surrogate_is_422(alice: Account) -> None:
    sent = await alice.send("general", "fine")
    r = await alice.client.patch(
        f"{API}/messages/{sent['id']}",
        content=b'{"text": "\\ud800"}',
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert_problem(r, 422, "invalid")
    assert (await alice.get(f"/messages/{sent['id']}")).json()["text"] == "fine"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"text": "a\xed\xa0\x80b"}', "UTF-8"),  # a surrogate encoded in bytes (CESU-8)
        (b'{"text": "\xff"}', "UTF-8"),
        (b'\xef\xbb\xbf{"text": "bom"}', "byte order mark"),
        ('{"text": "utf-16"}'.encode("utf-16"), "UTF-8"),
        (b'{"text": "one", "text": "two"}', "twice"),
    ],
)
async def test_bodies_that_are_not_plain_utf8_json_are_400(
    alice: Account, body: bytes, why: str
) -> None:
    r = await raw_post(alice, "/rooms/general/messages", body)
    problem = assert_problem(r, 400, "malformed_request")
    assert why in problem["detail"]
    assert (await alice.get("/rooms/general/messages")).json()["messages"] == []


async def test_sign_in_with_a_lone_surrogate_password_is_422_not_500(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(
        f"{API}/sessions",
        content=b'{"username": "nobody", "password": "\\ud800\\ud800"}',
        headers={"Content-Type": "application/json"},
    )
    assert_problem(r, 422, "invalid")


@pytest.mark.parametrize("limit", ["%C2%B2", "%EF%BC%91", "%D9%A3", "1e3", "0x10", " 5"])
async def test_classic_limit_takes_ascii_digits_only(client: httpx.AsyncClient, limit: str) -> None:
    r = await client.get(f"/messages?limit={limit}")
    assert r.status_code == 422
    assert r.json()["code"] == "invalid"


@pytest.mark.parametrize("suffix", ["%C2%B2", "%EF%BC%91", "1%C2%B2"])
async def test_cursors_with_non_ascii_digits_are_expired_not_500(
    alice: Account, suffix: str
) -> None:
    head = (await alice.get("/events")).json()["next"]
    deployment = head.rpartition("-")[0]
    r = await alice.get(f"/events?since={deployment}-{suffix}&timeout=0")
    assert_problem(r, 410, "cursor_expired")


# -- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["\u200b", "\u3164", "\u200b\u3164\u2800", " \u200d ", "\u0301", "\u115f\u1160"]
)
async def test_room_names_of_only_invisible_characters_are_refused(
    alice: Account, name: str
) -> None:
    r = await alice.post("/rooms", {"name": name, "visibility": "public"})
    body = r.json()
    assert r.status_code == 422, body
    assert body.get("field") == "name" or "name" in str(body.get("errors"))


@pytest.mark.parametrize("name", ["gnp\u202e.exe", "a\u2066b", "x\u200fy"])
async def test_names_with_bidirectional_controls_are_refused(alice: Account, name: str) -> None:
    r = await alice.post("/rooms", {"name": name, "visibility": "public"})
    assert_problem(r, 422, "invalid")
    room = await alice.create_room("plain")
    r = await alice.patch(f"/rooms/{room['id']}", {"name": name})
    assert_problem(r, 422, "invalid")
    assert (await alice.get(f"/rooms/{room['id']}")).json()["name"] == "plain"


async def test_display_names_must_be_visible(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{API}/accounts",
        json={"username": "mallory", "password": "correct horse", "display_name": "\u200b\u200b"},
    )
    assert_problem(r, 422, "invalid")
    r = await client.post(
        f"{API}/accounts",
        json={"username": "mallory", "password": "correct horse", "display_name": "\u202eecilA"},
    )
    assert_problem(r, 422, "invalid")


async def test_right_to_left_text_is_still_a_fine_name(alice: Account) -> None:
    room = await alice.create_room("שלום עולם")
    assert room["name"] == "שלום עולם"


# -- idempotency keys -------------------------------------------------------------------------


async def test_an_idempotency_key_with_surrounding_spaces_is_the_same_key(alice: Account) -> None:
    first = await alice.post(
        "/rooms/general/messages", {"text": "once"}, headers={"Idempotency-Key": "k"}
    )
    again = await alice.post(
        "/rooms/general/messages", {"text": "once"}, headers={"Idempotency-Key": "k  "}
    )
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    history = (await alice.get("/rooms/general/messages")).json()["messages"]
    assert [m["text"] for m in history] == ["once"]


# -- the classic POST needs JSON said out loud ---------------------------------------------------


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_a_classic_post_without_a_json_content_type_is_415_and_stores_nothing(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"Origin": "https://evil.example"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    # What fetch(…, {mode: "no-cors", body: new Blob(['{"user":…}'])}) sends from another site.
    r = await client.post("/message", content=b'{"user": "u", "text": "t"}', headers=headers)
    assert r.status_code == 415
    assert r.json()["code"] == "unsupported_media_type"
    assert (await client.get("/messages")).json() == {"messages": []}


async def test_a_v1_body_without_content_type_is_415(alice: Account) -> None:
    r = await alice.client.post(
        f"{API}/rooms/general/messages", content=b'{"text": "hi"}', headers=alice.headers
    )
    assert_problem(r, 415, "unsupported_media_type")


# -- reactions ----------------------------------------------------------------------------------


async def test_reactions_are_capped_per_user_and_per_message(
    client: httpx.AsyncClient, alice: Account
) -> None:
    message = await alice.send("general", "react to me")
    path = f"/messages/{message['id']}/reactions"
    for i in range(20):
        assert (await alice.put(f"{path}/a{i}")).status_code == 204
    assert_problem(await alice.put(f"{path}/a20"), 422, "too_many_reactions")
    assert (await alice.put(f"{path}/a5")).status_code == 204  # an old one again: a no-op
    others = [await sign_up(client, f"user{i}") for i in range(2)]
    for i in range(20, 50):
        who = others[i % 2]
        assert (await who.put(f"{path}/a{i}")).status_code == 204
    # The message now has 50 different reactions: a 51st is refused, an existing one is fine.
    assert_problem(await others[0].put(f"{path}/new"), 422, "too_many_reactions")
    assert (await others[0].put(f"{path}/a0")).status_code == 204
    reactions = (await alice.get(f"/messages/{message['id']}")).json()["reactions"]
    assert len(reactions) == 50


# -- the public room directory ------------------------------------------------------------------


async def test_the_public_directory_is_paged_by_name_and_filtered_by_prefix(
    alice: Account, bob: Account
) -> None:
    for name in ["beta", "alpha", "Alpine", "gamma", "delta", "al_pha"]:
        await alice.create_room(name)
    await alice.create_room("secret", "private")
    pages, cursor = [], None
    while True:
        query = "/rooms?scope=public&limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = (await bob.get(query)).json()
        pages.append([r["name"] for r in body["rooms"]])
        if cursor is None:
            await alice.create_room("aardvark")  # made while paging: pages stay stable
        cursor = body["next_cursor"]
        if cursor is None:
            break
    names = [n for page in pages for n in page]
    assert names == sorted(names)
    assert set(names) >= {"alpha", "Alpine", "al_pha", "beta", "delta", "gamma"}
    assert "secret" not in names
    assert len(names) == len(set(names)), "no room twice across pages"
    assert all(len(page) <= 2 for page in pages)
    found = (await bob.get("/rooms?scope=public&prefix=AL")).json()
    assert sorted(r["name"] for r in found["rooms"]) == ["Alpine", "al_pha", "alpha"]
    literal = (await bob.get("/rooms?scope=public&prefix=al_")).json()
    assert [r["name"] for r in literal["rooms"]] == ["al_pha"]  # _ is not a wildcard
    assert_problem(await bob.get("/rooms?scope=public&cursor=bm9wZQ"), 422, "invalid")
    assert_problem(await bob.get("/rooms?scope=public&limit=201"), 422, "invalid")
