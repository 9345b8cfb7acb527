"""Message search's language: how text becomes index tokens, and how a query becomes a plan.

Both engines index the *same* tokens, made here, so they find the same messages:

- text is case-folded and stripped of diacritics (`Café` → `cafe`), character by character,
  so every token keeps its span in the original text (highlights are those spans);
- a run of letters, or of digits, is one token; anything else separates (`foo_bar`,
  `v1.2.3`, `example.com/path`, `#1234` are found by their parts, and whole as a phrase of
  them);
- scripts written without spaces (Han, Kana, Hangul, Thai, ...) are indexed as overlapping
  pairs of characters, so any substring of two or more characters is a phrase of pairs
  (`東京` finds `東京都に行きました`);
- each emoji (any other symbol) is a token of its own.

A token never holds an ASCII punctuation character, a quote or a space, so the plan the
stores compile into tsquery syntax (or look up in a table) cannot carry user syntax to the engine.

The query language (docs/api.md): words (all must match), `"a phrase"`, `prefix*`, `-word`
or `-"a phrase"` to exclude, and the filters `from:username`, `in:room-name`, `has:link`,
`has:file`, `before:YYYY-MM-DD`, `after:YYYY-MM-DD`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "QUERY_MAX",
    "TERMS_MAX",
    "Plan",
    "QueryError",
    "Term",
    "Token",
    "has_link",
    "highlights",
    "index_words",
    "parse_query",
    "tokens",
]

QUERY_MAX = 1000  # characters
TERMS_MAX = 16  # words, phrases and exclusions together
TOKEN_MAX = 64  # characters: longer runs are cut (the same way when indexing and querying)
PHRASE_MAX = 32  # tokens in one phrase
_DAY_MS = 86_400_000
_LINK = re.compile(r"(?i)\b(?:https?://|www\.)\S")
_FILTERS = ("from", "in", "has", "before", "after")

# Scripts written without spaces between words: indexed as overlapping pairs of characters.
_UNSPACED = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x3130, 0x318F),  # Hangul compatibility Jamo
    (0x31F0, 0x31FF),  # Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width Katakana
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)


class QueryError(ValueError):
    """The query cannot be run (the message says why, for the user)."""


@dataclass(frozen=True, slots=True)
class Token:
    """A normalised token and where it came from in the original text ([start, end))."""

    text: str
    start: int
    end: int


def _is_unspaced(ch: str) -> bool:
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _UNSPACED)


@lru_cache(maxsize=4096)
def _fold(ch: str) -> str:
    """One character, case-folded and without diacritics ('' for a combining mark)."""
    decomposed = unicodedata.normalize("NFKD", ch.casefold())
    # Only letters and digits stay (NFKD may add punctuation, as in a vulgar fraction).
    return "".join(c for c in decomposed if unicodedata.category(c)[0] in "LN")


@lru_cache(maxsize=4096)
def _fold_unspaced(ch: str) -> str:
    """A character of an unspaced script, in its compatibility form (half-width Katakana
    becomes full-width). Marks stay (a Thai tone mark, a kana's voicing): they change the
    word."""
    return "".join(
        c for c in unicodedata.normalize("NFKC", ch) if unicodedata.category(c)[0] in "LNM"
    )


@lru_cache(maxsize=4096)
def _kind(ch: str) -> str:
    """w: part of a word; u: an unspaced script; m: a mark (continues a word); s: a symbol
    (a token alone); x: a separator."""
    if _is_unspaced(ch):
        return "u"
    category = unicodedata.category(ch)
    if category[0] == "M":
        return "m"
    if category[0] in "LN":
        return "w"
    if category == "So":
        return "s"
    return "x"


# ASCII text (most messages) takes a shortcut with the same result: no marks, no symbols
# that are tokens, no unspaced scripts; letters fold to lower case.
_ASCII_WORD = re.compile(r"[A-Za-z]+|[0-9]+")


def tokens(text: str) -> list[Token]:
    """The tokens of `text`, in order, with their spans. Deterministic; never raises."""
    if text.isascii():
        return [
            Token(m[0].lower()[:TOKEN_MAX], m.start(), m.end()) for m in _ASCII_WORD.finditer(text)
        ]
    return _tokens(text)


def _tokens(text: str) -> list[Token]:
    found: list[Token] = []
    word: list[str] = []
    word_start = 0
    run_start = -1  # start of the current run of unspaced characters

    def end_word(at: int) -> None:
        if word:
            folded = "".join(word)[:TOKEN_MAX]
            if folded:
                found.append(Token(folded, word_start, at))
            word.clear()

    def end_run(at: int) -> None:
        nonlocal run_start
        if run_start < 0:
            return
        run = text[run_start:at]
        folded = [_fold_unspaced(ch) for ch in run]
        if len(run) == 1:
            found.append(Token(folded[0], run_start, at))
        for i in range(len(run) - 1):
            found.append(Token(folded[i] + folded[i + 1], run_start + i, run_start + i + 2))
        run_start = -1

    for i, ch in enumerate(text):
        kind = _kind(ch)
        if kind == "m":
            if word:  # a combining mark continues its word; alone, it is nothing
                word.append(_fold(ch))
            continue
        if kind == "u":
            end_word(i)
            if run_start < 0:
                run_start = i
            continue
        end_run(i)
        if kind == "w":
            # Letters and digits part too: `v1.2.3` is v, 1, 2, 3 (so `1.2.3` finds it).
            if word and ch.isdigit() != text[i - 1].isdigit() and _kind(text[i - 1]) == "w":
                end_word(i)
            if not word:
                word_start = i
            word.append(_fold(ch))
            continue
        end_word(i)
        if kind == "s":
            found.append(Token(ch, i, i + 1))
    end_word(len(text))
    end_run(len(text))
    return [t for t in found if t.text]


def index_words(text: str) -> list[str]:
    """The tokens both engines index for `text`, in order (positions are list indexes)."""
    if text.isascii():
        return [w[:TOKEN_MAX] for w in _ASCII_WORD.findall(text.lower())]
    return [t.text for t in _tokens(text)]


def has_link(text: str) -> bool:
    """Whether the text holds a link (http://, https:// or www.)."""
    return _LINK.search(text) is not None


@dataclass(frozen=True, slots=True)
class Term:
    """Consecutive tokens that must appear in this order (one token: a word); with
    `prefix`, the last one may be the start of a longer token."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    """A parsed query: what must match, what must not, and the filters. Only tokens made by
    `tokens` (letters, digits, symbols) reach a store."""

    include: tuple[Term, ...] = ()
    exclude: tuple[Term, ...] = ()
    from_users: tuple[str, ...] = ()  # case-folded usernames: any of them
    in_rooms: tuple[str, ...] = ()  # case-folded room names: any of them
    has_link: bool = False
    has_file: bool = False  # attachments (uploads attached to it)
    before_ms: int | None = None
    after_ms: int | None = None

    @property
    def is_empty(self) -> bool:
        return not (
            self.include
            or self.exclude
            or self.from_users
            or self.in_rooms
            or self.has_link
            or self.has_file
            or self.before_ms is not None
            or self.after_ms is not None
        )


# One piece of a query: an optional "-", then "quoted text" (to the next quote or the end),
# or a key:"quoted value", or a run of non-space characters.
_PIECE = re.compile(r'(-?)(?:"([^"]*)"?|([A-Za-z]+):"([^"]*)"?|(\S+))')


def _term(text: str, prefix: bool) -> Term | None:
    words = tuple(t.text for t in tokens(text))
    if not words:
        return None
    if len(words) == 1 and len(text) == 1 and _kind(text) == "u":
        prefix = True  # one character of a CJK run: the pairs starting with it
    if len(words) > PHRASE_MAX:
        raise QueryError(f"A phrase may have at most {PHRASE_MAX} words")
    return Term(words, prefix)


def _day(key: str, value: str) -> int:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise QueryError(f"{key}: takes a date like 2026-12-01, not {value[:40]!r}") from None
    if len(value) != 10:
        raise QueryError(f"{key}: takes a date like 2026-12-01, not {value[:40]!r}")
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return int(midnight.timestamp() * 1000)


def parse_query(query: str) -> Plan:
    """The plan for `query`, or QueryError (a user's mistake: 422). Never passes the query's
    syntax on: every word, phrase and prefix becomes tokens of `tokens`."""
    if len(query) > QUERY_MAX:
        raise QueryError(f"A query has at most {QUERY_MAX} characters")
    # Control characters (NUL included) separate, like spaces.
    query = "".join(" " if unicodedata.category(c) == "Cc" else c for c in query)
    include: list[Term] = []
    exclude: list[Term] = []
    users: list[str] = []
    rooms: list[str] = []
    link = False
    file = False
    before: int | None = None
    after: int | None = None
    for match in _PIECE.finditer(query):
        negate = match[1] == "-"
        quoted, key, key_value, bare = match[2], match[3], match[4], match[5]
        if bare is not None and ":" in bare:
            name, _, value = bare.partition(":")
            if name.lower() in _FILTERS and value:
                key, key_value = name, value
        if key is not None and key.lower() in _FILTERS and key_value is not None:
            if negate:
                raise QueryError(f"-{key.lower()}: is not supported: leave out the '-'")
            name, value = key.lower(), key_value.strip()
            if not value:
                continue
            if name == "from":
                users.append(value.removeprefix("@").casefold())
            elif name == "in":
                rooms.append(value.removeprefix("#").casefold())
            elif name == "has":
                kind = value.lower()
                if kind not in ("link", "file"):
                    raise QueryError(f"has: takes 'link' or 'file', not {value[:40]!r}")
                link = link or kind == "link"
                file = file or kind == "file"
            elif name == "before":
                before = _day(name, value)
            else:
                after = _day(name, value) + _DAY_MS
            continue
        if key is not None:  # an unknown key with a quoted value: plain text
            quoted = f"{key} {key_value}"
        text = quoted if quoted is not None else bare
        if not text:
            continue
        prefix = quoted is None and text.endswith("*")
        term = _term(text.rstrip("*") if prefix else text, prefix)
        if term is None:
            continue
        (exclude if negate else include).append(term)
        if len(include) + len(exclude) > TERMS_MAX:
            raise QueryError(f"A query has at most {TERMS_MAX} words and phrases")
    return Plan(
        include=tuple(dict.fromkeys(include)),
        exclude=tuple(dict.fromkeys(exclude)),
        from_users=tuple(dict.fromkeys(users)),
        in_rooms=tuple(dict.fromkeys(rooms)),
        has_link=link,
        has_file=file,
        before_ms=before,
        after_ms=after,
    )


def highlights(text: str, plan: Plan) -> list[tuple[int, int]]:
    """Where the plan's included words, phrases and prefixes occur in `text`, as sorted,
    non-overlapping [start, end) character (code point) offsets."""
    found = tokens(text)
    spans: list[tuple[int, int]] = []
    for term in plan.include:
        n = len(term.words)
        for i in range(len(found) - n + 1):
            if _matches(found[i : i + n], term):
                spans.append((found[i].start, found[i + n - 1].end))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _matches(window: list[Token], term: Term) -> bool:
    last = len(term.words) - 1
    for j, word in enumerate(term.words):
        have = window[j].text
        if have != word and not (term.prefix and j == last and have.startswith(word)):
            return False
    return True
