"""Message search: one table of queries and the hits they must give, on SQLite and PostgreSQL
(the `settings` fixture runs each test on both), with paging, highlights and filters."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from hubbub.textsearch import index_words
from tests.api.conftest import Account, assert_problem

pytestmark = pytest.mark.anyio

# Sent in this order (so newest first is the reverse), by alice unless noted.
CORPUS = [
    "The Café on the corner opens at nine",
    "Deploy v1.2.3 went out; see example.com/path/to/notes for details",
    "rename foo_bar to fooBar in issue #1234",
    "東京都に行きました",
    "party tonight 🎉 bring snacks",
    "the quick brown fox jumps over the lazy dog",
    "a lazy afternoon, quick nap",
    "https://docs.example.org/guide explains the deploy",
    "naïve résumé of the coöperative",
    "Straße und Maße",
    "bob says: the release is ready",  # sent by bob
    "Привет, мир: кириллица тоже ищется",
]

# query → the corpus entries it must find, newest first.
CONTRACT: list[tuple[str, list[int]]] = [
    # words: all must match, any order, any case
    ("lazy", [6, 5]),
    ("LAZY quick", [6, 5]),
    ("quick lazy dog", [5]),
    ("nothinglikethis", []),
    # diacritics, both ways
    ("cafe", [0]),
    ("café", [0]),
    ("naive resume cooperative", [8]),
    ("strasse", [9]),
    # phrases
    ('"lazy dog"', [5]),
    ('"dog lazy"', []),
    ('"quick nap"', [6]),
    # prefixes
    ("depl*", [7, 1]),
    ("qui* laz*", [6, 5]),
    ('"quick br"*', []),  # a quoted phrase ends at its quote: no prefix
    # exclusions
    ("lazy -dog", [6]),
    ('lazy -"quick nap"', [5]),
    ("deploy -example", []),
    # identifiers, versions, paths, URLs, issue numbers: whole and by their parts
    ("foo_bar", [2]),
    ("foo", [2]),
    ("bar", [2]),
    ("foobar", [2]),
    ("v1.2.3", [1]),
    ("1.2.3", [1]),
    ("v1.2", [1]),
    ("example.com/path", [1]),
    ("example.com", [1]),
    ("#1234", [2]),
    ("1234", [2]),
    ("https://docs.example.org/guide", [7]),
    ("docs.example.org", [7]),
    ("example", [7, 1]),
    # CJK: any substring of two or more characters
    ("東京", [3]),
    ("京都", [3]),
    ("東京都", [3]),
    ("行きました", [3]),
    ("都に行", [3]),
    ("東", [3]),
    ("大阪", []),
    ("京東", []),
    # other scripts and emoji
    ("привет", [11]),
    ("ПРИВЕТ мир", [11]),
    ("кирил*", [11]),
    ("🎉", [4]),
    ("🎉 snacks", [4]),
    # filters
    ("from:bob", [10]),
    ("from:@BOB release", [10]),
    ("from:alice release", []),
    ("from:nobody", []),
    ("has:link", [7]),  # a link has a scheme or starts www.
    ("has:link deploy", [7]),
    ("has:link guide", [7]),
    ("in:general quick", [6, 5]),
    ("in:#General lazy -afternoon", [5]),
    ("in:nowhere lazy", []),
    ("after:2000-01-01 nine", [0]),
    ("before:2000-01-01 nine", []),
    # unknown keys are text
    ("issue:1234", [2]),
]


async def search(account: Account, q: str, **params: Any) -> dict[str, Any]:
    r = await account.get("/search", params={"q": q, **params})
    assert r.status_code == 200, (q, r.text)
    return dict(r.json())


def texts(body: dict[str, Any]) -> list[str]:
    return [hit["message"]["text"] for hit in body["results"]]


@pytest.fixture
async def corpus(alice: Account, bob: Account) -> list[dict[str, Any]]:
    sent = []
    for i, text in enumerate(CORPUS):
        author = bob if i == 10 else alice
        sent.append(await author.send("general", text))
    return sent


async def test_the_contract_queries_find_the_same_messages_on_every_engine(
    alice: Account, corpus: list[dict[str, Any]]
) -> None:
    failures = []
    for query, expected in CONTRACT:
        got = texts(await search(alice, query))
        want = [CORPUS[i] for i in expected]
        if got != want:
            failures.append(f"{query!r}: got {got}, want {want}")
    assert failures == [], "\n".join(failures)


async def test_hits_carry_the_room_and_highlight_offsets_into_the_text(
    alice: Account, corpus: list[dict[str, Any]]
) -> None:
    body = await search(alice, 'cafe "on the" corn*')
    [hit] = body["results"]
    text = hit["message"]["text"]
    assert hit["room"] == {"id": "general", "name": "general", "kind": "room"}
    assert [text[a:b] for a, b in hit["highlights"]] == ["Café", "on the", "corner"]
    [hit] = (await search(alice, "都に"))["results"]
    assert [hit["message"]["text"][a:b] for a, b in hit["highlights"]] == ["都に"]
    [hit] = (await search(alice, "foo_bar"))["results"]
    assert [hit["message"]["text"][a:b] for a, b in hit["highlights"]] == ["foo_bar"]
    [hit] = (await search(alice, "🎉 party"))["results"]
    assert [hit["message"]["text"][a:b] for a, b in hit["highlights"]] == ["party", "🎉"]
    [hit] = (await search(alice, "from:bob"))["results"]
    assert hit["highlights"] == []


async def test_pages_follow_the_cursor_and_stay_put_while_messages_arrive(alice: Account) -> None:
    for i in range(7):
        await alice.send("general", f"needle number {i}")
    first = await search(alice, "needle", limit=3)
    assert texts(first) == [f"needle number {i}" for i in (6, 5, 4)]
    assert first["next_cursor"]
    await alice.send("general", "needle number 7, sent while paging")
    second = await search(alice, "needle", limit=3, cursor=first["next_cursor"])
    assert texts(second) == [f"needle number {i}" for i in (3, 2, 1)]
    third = await search(alice, "needle", limit=3, cursor=second["next_cursor"])
    assert texts(third) == ["needle number 0"]
    assert third["next_cursor"] is None
    again = await search(alice, "needle", limit=100)
    assert len(again["results"]) == 8
    assert again["next_cursor"] is None


async def test_a_room_id_limits_the_search_to_that_room(alice: Account, bob: Account) -> None:
    room = await alice.create_room("elsewhere")
    await alice.send(room["id"], "marmalade in the room")
    await alice.send("general", "marmalade in the general room")
    body = await search(alice, "marmalade", room_id=room["id"])
    assert texts(body) == ["marmalade in the room"]
    private = await bob.create_room("bobs", "private")
    assert_problem(
        await alice.get("/search", params={"q": "x", "room_id": private["id"]}),
        404,
        "room_not_found",
    )
    assert_problem(
        await alice.get("/search", params={"q": "x", "room_id": "no-such-room"}),
        404,
        "room_not_found",
    )


async def test_private_rooms_and_dms_are_found_by_their_members_only(
    alice: Account, bob: Account, carol: Account
) -> None:
    room = await alice.create_room("secret", "private")
    assert (await alice.put(f"/rooms/{room['id']}/members/bob")).status_code == 201
    await alice.send(room["id"], "the plan is pineapple")
    r = await alice.post("/dms", {"username": "bob"})
    assert r.status_code in (200, 201), r.text
    await alice.send(r.json()["id"], "a pineapple for you")
    for who in (alice, bob):
        assert len((await search(who, "pineapple"))["results"]) == 2
        assert len((await search(who, "pineapple", scope="all"))["results"]) == 2
    assert (await search(carol, "pineapple"))["results"] == []
    assert (await search(carol, "pineapple", scope="all"))["results"] == []


async def test_leaving_or_being_removed_ends_finding_a_private_rooms_messages(
    alice: Account, bob: Account, carol: Account
) -> None:
    room = await alice.create_room("secret", "private")
    for who in ("bob", "carol"):
        assert (await alice.put(f"/rooms/{room['id']}/members/{who}")).status_code == 201
    await alice.send(room["id"], "walnut whip")
    assert texts(await search(bob, "walnut")) == ["walnut whip"]
    assert texts(await search(carol, "walnut")) == ["walnut whip"]
    assert (await bob.delete(f"/rooms/{room['id']}/members/bob")).status_code == 204
    assert (await search(bob, "walnut", scope="all"))["results"] == []
    assert (await alice.delete(f"/rooms/{room['id']}/members/carol")).status_code == 204
    assert (await search(carol, "walnut", scope="all"))["results"] == []


async def test_public_rooms_you_are_not_in_need_scope_all(alice: Account, bob: Account) -> None:
    room = await bob.create_room("bobs-public")
    await bob.send(room["id"], "kumquat season")
    assert (await search(alice, "kumquat"))["results"] == []
    assert texts(await search(alice, "kumquat", scope="all")) == ["kumquat season"]
    assert texts(await search(alice, "kumquat in:bobs-public", scope="all")) == ["kumquat season"]
    # Messages from before joining are found once you are in.
    assert (await alice.post(f"/rooms/{room['id']}/join")).status_code in (200, 201, 204)
    assert texts(await search(alice, "kumquat")) == ["kumquat season"]


async def test_writes_are_searchable_as_soon_as_they_are_answered(alice: Account) -> None:
    sent = await alice.send("general", "original wording here")
    assert texts(await search(alice, "original")) == ["original wording here"]
    r = await alice.patch(f"/messages/{sent['id']}", {"text": "revised phrasing"})
    assert r.status_code == 200
    assert (await search(alice, "original"))["results"] == []
    assert (await search(alice, "wording"))["results"] == []
    assert texts(await search(alice, "revised")) == ["revised phrasing"]
    assert (await alice.delete(f"/messages/{sent['id']}")).status_code == 204
    assert (await search(alice, "revised"))["results"] == []
    assert (await search(alice, "from:alice"))["results"] == []


HOSTILE = [
    '"',
    '""',
    '"unterminated phrase',
    "*",
    "**",
    "a*b*c",
    "NEAR(a b)",
    "a NEAR b",
    "a AND b OR NOT c",
    "'",
    "' OR 1=1 --",
    "'; DROP TABLE messages; --",
    "\\",
    "\\'",
    "a\x00b",
    "\x00",
    "-",
    "--",
    "-*",
    ":",
    "from:",
    "from:\x00",
    "in:'",
    "has:",
    "(",
    ")",
    "a:b:c",
    "^a",
    "col:word",
    "{a b}",
    "a & b | !c <-> d",
    "x:*",
    "\ufeff",
    "\U0010ffff",
    "\ud7ff",
    "🎉*",
    "東*",
    "a" * 1000,
    " ".join(["w"] * 16),
    '"' + " ".join(["w"] * 32) + '"',
]
REFUSED = [
    "a" * 1001,
    "x" * 10_000,
    " ".join(f"w{i}" for i in range(17)),
    '"' + " ".join(["w"] * 33) + '"',
    "has:photo",
    "has:nothing",
    "before:yesterday",
    "after:2026-13-01",
    "before:2026-1-1",
    "-from:alice",
    "",
    "   ",
    "+++",
    "-",
]


@pytest.mark.parametrize("query", HOSTILE)
async def test_a_query_with_engine_syntax_is_only_text(
    alice: Account, corpus: list[dict[str, Any]], query: str
) -> None:
    r = await alice.get("/search", params={"q": query})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:  # NUL is refused before it gets here (`invalid`)
        assert r.json()["code"] in ("invalid_query", "invalid")


@pytest.mark.parametrize("query", REFUSED)
async def test_queries_that_cannot_run_are_422(alice: Account, query: str) -> None:
    r = await alice.get("/search", params={"q": query})
    assert r.status_code == 422, r.text
    assert r.json()["code"] in ("invalid_query", "invalid")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"cursor": "not a cursor"},
        {"cursor": "WzEsMl0"},  # [1,2]
        {"cursor": "\x00"},
        {"scope": "everything"},
        {"room_id": "x" * 65},
        {"cursor": "x" * 201},
    ],
)
async def test_bad_paging_parameters_are_422(alice: Account, params: dict[str, Any]) -> None:
    r = await alice.get("/search", params={"q": "x", **params})
    assert r.status_code == 422, r.text


async def test_search_needs_a_session(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/search", params={"q": "x"})
    assert_problem(r, 401, "unauthenticated")


# Letters with and without accents, Greek, Cyrillic, Arabic, Hebrew, Thai, Devanagari, CJK,
# Hangul, digits, emoji (with a skin tone and a joiner), combining marks, punctuation.
ALPHABET = (
    "aeiouxyzAEIOUÀÉÎÕÜçñßøåœ0123456789\u03b1β\u03b3Ωπжщ\u042f"
    "مرحبا"
    "שלום"
    "ภาษาไทย"
    "हिन्दी"
    "東京都大阪漢字かなカナ한국어"
    "🎉🚀👍🏽‍❤️"
    "\u0301\u0308"
    " .,;!?/_#@()[]{}<>+=~`^|&%$'\\"
)


async def test_any_message_is_found_by_its_own_words_as_a_phrase(alice: Account) -> None:
    """Random text in many scripts: quoting a message's text finds it, on both engines (the
    tokens both index, and the queries made of them, survive every engine's syntax)."""
    rng = random.Random(1616)
    room = await alice.create_room("babel")
    sent = []
    for _ in range(40):
        text = "".join(rng.choices(ALPHABET, k=rng.randint(1, 24))).strip() or "x"
        sent.append(await alice.send(room["id"], text))
    checked = 0
    for message in sent:
        words = index_words(message["text"])
        if not words or len(words) > 32:
            continue
        query = '"' + message["text"] + '"'
        r = await alice.get("/search", params={"q": query, "room_id": room["id"], "limit": 100})
        assert r.status_code == 200, (query, r.text)
        found = {hit["message"]["id"]: hit for hit in r.json()["results"]}
        assert message["id"] in found, (query, words)
        assert found[message["id"]]["highlights"], query
        checked += 1
    assert checked >= 30


@pytest.mark.parametrize("room_id", ["\x00", "r_\x00", "'", "%", "\\", "🎉", "general'--"])
async def test_odd_room_ids_are_404_or_422(alice: Account, room_id: str) -> None:
    r = await alice.get("/search", params={"q": "x", "room_id": room_id})
    assert r.status_code in (404, 422), r.text
