"""Reading a Slack export (services/slackexport.py) and planning its messages
(services/slackmessages.py): pure functions, on what Slack writes and on what it should not."""

from __future__ import annotations

import zipfile
from pathlib import Path

import orjson
import pytest

from hubbub.services.fields import USERNAME
from hubbub.services.slackexport import ExportUnreadable, SlackExport, ts_ms
from hubbub.services.slackmessages import Planned, emoji_of, plan_message, username_base

NAMES = {"U1": "alice", "U2": "bob.smith"}.get


def plan(**raw: object) -> Planned | str:
    return plan_message({"type": "message", "ts": "1700000000.000100", **raw}, "C1", NAMES)


def test_timestamps_become_milliseconds_and_anything_else_none() -> None:
    assert ts_ms("1700000000.123456") == 1_700_000_000_123
    assert ts_ms("1700000000") == 1_700_000_000_000
    assert ts_ms(1700000000) == 1_700_000_000_000
    bad_values: tuple[object, ...] = ("", "abc", "1.2.3", "-5", None, True, [], "1700000000.x")
    for bad in bad_values:
        assert ts_ms(bad) is None, bad


@pytest.mark.parametrize(
    ("slack", "hubbub"),
    [
        ("alice", "alice"),
        ("john.doe", "john.doe"),
        ("deploy bot", "deploy_bot"),
        ("a", "a_"),
        ("日本語", "user"),
        ("x" * 40, "x" * 32),
        ("-odd-", "odd"),
    ],
)
def test_slack_names_become_valid_usernames(slack: str, hubbub: str) -> None:
    assert username_base(slack) == hubbub
    assert USERNAME.match(hubbub)


def test_reaction_names_become_emoji_or_stay_names() -> None:
    assert emoji_of("+1") == "👍"
    assert emoji_of("thumbsup::skin-tone-3") == "👍"
    assert emoji_of("partyparrot") == ":partyparrot:"
    assert len(emoji_of("x" * 50)) == 32


def test_mentions_name_the_imported_user_or_keep_slacks_label() -> None:
    found = plan(user="U1", text="hi <@U2>, <@U9|zed> and <@U8>: <!channel> <#C5|random>")
    assert isinstance(found, Planned)
    assert found.text == "hi @bob.smith, @zed and @U8: @room #random"


def test_notices_and_empty_messages_are_skipped_with_a_reason() -> None:
    assert plan(subtype="channel_join", user="U1", text="joined") == (
        "membership notice (channel_join)"
    )
    assert (
        plan(subtype="channel_topic", user="U1", text="t") == "topic or name change (channel_topic)"
    )
    assert plan(user="U1", text="", hidden=True) == "hidden message"
    assert plan(user="U1", text="   ") == "empty message"
    assert plan(text="nobody wrote this") == "no author"


def test_fields_of_the_wrong_type_are_treated_as_absent() -> None:
    found = plan(
        user="U1",
        text="still here",
        files="F1",
        reactions={"name": "x"},
        attachments="nope",
        edited=["1700000001.0"],
        thread_ts=5,
        user_profile="bob",
    )
    assert isinstance(found, Planned)
    assert (found.text, found.files, found.reactions, found.cards) == ("still here", (), (), ())
    assert (found.edited_ms, found.thread_key) == (None, None)
    malformed = plan(user="U1", text=12, attachments=[{"title": "T", "fields": "oops"}])
    assert malformed == "empty message", "malformed attachments are dropped, not the export"


def test_a_bot_message_is_the_bots_with_its_name_and_cards() -> None:
    found = plan(
        subtype="bot_message",
        bot_id="B1",
        username="CI",
        text="",
        attachments=[{"title": "Build", "text": "*ok*"}],
    )
    assert isinstance(found, Planned)
    assert (found.author, found.is_bot_author, found.sender_name) == ("B1", True, "CI")
    assert found.cards[0].text == "**ok**"


def write(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def test_an_export_is_read_day_by_day_and_finds_the_files_tools_add(tmp_path: Path) -> None:
    path = write(
        tmp_path / "e.zip",
        {
            "users.json": orjson.dumps([{"id": "U1", "name": "alice"}, {"name": "no id"}, 7]),
            "channels.json": orjson.dumps(
                [{"id": "C1", "name": "general", "created": "soon", "members": ["U1", 3]}]
            ),
            "general/2023-01-02.json": orjson.dumps(
                [{"ts": "2.0", "text": "b"}, {"ts": "1.0", "text": "a"}, {"text": "no ts"}]
            ),
            "general/2023-01-01.json": orjson.dumps([]),
            "general/notes.json": b"not a day",
            "general/attachments/F1-report.pdf": b"%PDF",
            "__uploads/F2/photo.png": b"png",
        },
    )
    with SlackExport.open(path) as export:
        assert [u.id for u in export.users()] == ["U1"]
        [general] = export.conversations()
        assert (general.created_ms, general.members) == (0, ("U1",))
        days = export.days(general)
        assert days == ["general/2023-01-01.json", "general/2023-01-02.json"]
        assert [m["text"] for m in export.read_day(days[1])] == ["a", "b"]
        assert export.file_entry("F1") == "general/attachments/F1-report.pdf"
        assert b"".join(export.file_chunks(export.file_entry("F2") or "")) == b"png"
        assert export.file_entry("F3") is None


def test_what_is_not_an_export_is_refused_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "plain.zip").write_bytes(b"not a zip")
    with pytest.raises(ExportUnreadable, match="not a readable ZIP file"):
        SlackExport.open(tmp_path / "plain.zip")
    with pytest.raises(ExportUnreadable, match=r"no channels\.json"):
        SlackExport.open(write(tmp_path / "a.zip", {"users.json": b"[]"}))
    broken = write(tmp_path / "b.zip", {"users.json": b"{", "channels.json": b"[]"})
    with SlackExport.open(broken) as export, pytest.raises(ExportUnreadable, match=r"users\.json"):
        export.users()
    wrong = write(tmp_path / "c.zip", {"users.json": b"{}", "channels.json": b"[]"})
    with (
        SlackExport.open(wrong) as export,
        pytest.raises(ExportUnreadable, match="not a JSON list"),
    ):
        export.users()
