"""The search language's tokens and plans (hubbub.textsearch): what both engines index and
what a query may send them."""

from __future__ import annotations

import random

import pytest

from hubbub import textsearch
from hubbub.textsearch import (
    QUERY_MAX,
    Plan,
    QueryError,
    Term,
    has_link,
    highlights,
    index_words,
    parse_query,
)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Café au LAIT", ["cafe", "au", "lait"]),
        ("Straße", ["strasse"]),
        ("cafe\u0301", ["cafe"]),  # a combining accent, decomposed
        ("foo_bar v1.2.3", ["foo", "bar", "v", "1", "2", "3"]),
        ("example.com/path?q=1#frag", ["example", "com", "path", "q", "1", "frag"]),
        ("#1234", ["1234"]),
        ("東京都に", ["東京", "京都", "都に"]),
        ("東 京", ["東", "京"]),
        ("ﾄｳｷｮｳ", ["トウ", "ウキ", "キョ", "ョウ"]),  # half-width Katakana, full-width
        ("が", ["が"]),  # a kana's voicing mark is part of it
        ("ที่นี่", ["ที", "ี่", "่น", "นี", "ี่"]),  # Thai: pairs, its marks kept
        ("party 🎉🎉!", ["party", "🎉", "🎉"]),
        ("привет, Мир", ["привет", "мир"]),
        ("\x00'\"\\*", []),
        ("", []),
    ],
)
def test_tokens(text: str, words: list[str]) -> None:
    assert index_words(text) == words


def test_no_token_holds_ascii_punctuation_or_space() -> None:
    sample = "".join(chr(c) for c in range(0x20, 0x3000)) + "東京🎉 ½ ﬁ ǅ"
    for word in index_words(sample):
        assert word
        assert not any(c.isascii() and not c.isalnum() for c in word), word
        assert not any(c.isspace() for c in word), word


def test_words_phrases_prefixes_and_exclusions() -> None:
    plan = parse_query('Deploy "lazy dog" qui* -draft -"old plan" v1.2')
    assert plan.include == (
        Term(("deploy",)),
        Term(("lazy", "dog")),
        Term(("qui",), prefix=True),
        Term(("v", "1", "2")),
    )
    assert plan.exclude == (Term(("draft",)), Term(("old", "plan")))


def test_filters() -> None:
    plan = parse_query("from:@Alice in:#Design has:link before:2026-12-01 after:2026-11-01 x")
    assert plan.from_users == ("alice",)
    assert plan.in_rooms == ("design",)
    assert plan.has_link
    assert plan.before_ms == 1_796_083_200_000  # 2026-12-01T00:00Z
    assert plan.after_ms == 1_793_577_600_000  # 2026-11-02T00:00Z: after the day ended
    assert parse_query('in:"big room"').in_rooms == ("big room",)


def test_unknown_keys_and_engine_syntax_are_words() -> None:
    assert parse_query("issue:1234").include == (Term(("issue", "1234")),)
    assert parse_query("NEAR(a b)").include == (Term(("near", "a")), Term(("b",)))
    assert parse_query("' OR 1=1 --").include == (Term(("or",)), Term(("1", "1")))
    assert parse_query('"unclosed phrase').include == (Term(("unclosed", "phrase")),)
    assert parse_query("*** \x00 -").is_empty
    assert parse_query("東").include == (Term(("東",), prefix=True),)


@pytest.mark.parametrize(
    "query",
    [
        "x" * (QUERY_MAX + 1),
        " ".join(f"w{i}" for i in range(17)),
        '"' + "w " * 33 + '"',
        "has:photo",
        "before:2026-02-30",
        "after:2026-1-1",
        "-from:bob",
    ],
)
def test_queries_that_cannot_run(query: str) -> None:
    with pytest.raises(QueryError):
        parse_query(query)


def test_highlights_are_code_point_spans_of_what_matched() -> None:
    text = "🎉 Café: the café is open, cafés too"
    plan = parse_query("cafe caf* open")
    spans = highlights(text, plan)
    assert [text[a:b] for a, b in spans] == ["Café", "café", "open", "cafés"]
    assert highlights("東京都に行きました", parse_query("京都に")) == [(1, 4)]
    assert highlights("foo_bar and foo", parse_query("foo_bar")) == [(0, 7)]
    assert highlights("anything", Plan()) == []


def test_links() -> None:
    assert has_link("see https://example.com")
    assert has_link("www.example.com")
    assert not has_link("example.com/path")
    assert not has_link("https://")


def test_the_ascii_shortcut_gives_what_the_general_tokenizer_gives() -> None:
    rng = random.Random(16)
    alphabet = [chr(c) for c in range(128)]
    samples = ["".join(rng.choices(alphabet, k=rng.randint(0, 120))) for _ in range(2000)]
    samples += ["a" * 100 + "1" * 70, "v1.2.3 foo_bar #1234 x\x00y"]
    for text in samples:
        assert textsearch.tokens(text) == textsearch._tokens(text), repr(text)
        assert index_words(text) == [t.text for t in textsearch._tokens(text)], repr(text)
