"""Slack incoming-webhook payloads as hubbub messages (services/slack.py): mrkdwn to the
Markdown subset, attachments to cards, blocks to text, and refusals."""

from __future__ import annotations

from typing import Any

import pytest

from hubbub.services.slack import (
    CARDS_MAX,
    NoText,
    PayloadInvalid,
    convert_payload,
    mrkdwn_to_markdown,
)


@pytest.mark.parametrize(
    ("mrkdwn", "markdown"),
    [
        ("*bold* and _italic_ and ~gone~", "**bold** and *italic* and ~~gone~~"),
        ("snake_case_name stays", "snake_case_name stays"),
        ("2*3*4 stays", "2*3*4 stays"),
        (
            "<https://example.com/a?b=1&amp;c=2|the docs>",
            "[the docs](https://example.com/a?b=1&c=2)",
        ),
        ("<https://example.com>", "<https://example.com>"),
        ("<mailto:ops@example.com|mail ops>", "[mail ops](mailto:ops@example.com)"),
        ("<javascript:alert(1)|click>", "click"),
        ("<!here> deploy done, <!channel> and <!everyone>", "@here deploy done, @room and @room"),
        ("<@U024BE7LH|bob> and <#C024BE7LR|general>", "@bob and #general"),
        ("`*not bold*` but *bold*", "`*not bold*` but **bold**"),
        ("```*raw* <x>\nline```", "```\n*raw* <x>\nline\n```"),
        ("1 &lt; 2 &amp;&amp; 3 &gt; 2", "1 < 2 && 3 > 2"),
        ("[a](b) *x*", "[a](b) **x**"),
    ],
)
def test_mrkdwn_becomes_the_markdown_subset(mrkdwn: str, markdown: str) -> None:
    assert mrkdwn_to_markdown(mrkdwn) == markdown


def test_a_plain_payload() -> None:
    converted = convert_payload({"text": "Hello, *world*", "username": "CI bot"})
    assert converted.text == "Hello, **world**"
    assert converted.sender_name == "CI bot"
    assert converted.cards == ()


def test_attachments_become_cards() -> None:
    payload: dict[str, Any] = {
        "attachments": [
            {
                "fallback": "[FIRING:1] HighLatency",
                "color": "danger",
                "pretext": "From _prometheus_",
                "title": "[FIRING:1] HighLatency",
                "title_link": "http://127.0.0.1:9093/#/alerts",
                "text": "p99 is *900 ms*",
                "fields": [{"title": "severity", "value": "page", "short": True}, "junk"],
                "footer": "alertmanager",
                "ts": 1764979200,
            }
        ]
    }
    with pytest.raises(PayloadInvalid):
        convert_payload(payload)  # a field that is not an object
    payload["attachments"][0]["fields"].pop()
    card = convert_payload(payload).cards[0]
    assert (card.title, card.text, card.pretext) == (
        "[FIRING:1] HighLatency",
        "p99 is **900 ms**",
        "From *prometheus*",
    )
    assert card.title_link == "http://127.0.0.1:9093/#/alerts"
    assert [(f.title, f.value, f.short) for f in card.fields] == [("severity", "page", True)]
    assert (card.color, card.footer, card.ts) == ("danger", "alertmanager", 1764979200)


def test_a_card_link_must_be_http() -> None:
    payload = {"attachments": [{"title": "x", "title_link": "javascript:alert(1)"}]}
    assert convert_payload(payload).cards[0].title_link == ""


def test_cards_are_capped() -> None:
    payload = {"attachments": [{"text": f"card {i}"} for i in range(CARDS_MAX + 5)]}
    assert len(convert_payload(payload).cards) == CARDS_MAX


def test_blocks_are_shown_instead_of_the_fallback_text() -> None:
    payload = {
        "text": "fallback for notifications",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Deploy *done*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*api* is live"}},
            {"type": "divider"},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*Env*\nprod"},
                    {"type": "plain_text", "text": "v1.2.3"},
                ],
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "by _ci_"}]},
            {"type": "image", "image_url": "https://example.com/x.png", "alt_text": "x"},
            {"type": "mystery", "text": {"type": "plain_text", "text": "unknown kept as text"}},
        ],
    }
    assert convert_payload(payload).text == (
        "**Deploy *done***\n\n**api** is live\n\n⸻\n\n**Env**\nprod\nv1.2.3\n\nby *ci*"
        "\n\nunknown kept as text"
    )


@pytest.mark.parametrize(
    "payload",
    [[], "text", 3, {"text": ["a"]}, {"attachments": "x"}, {"blocks": {}}, {"blocks": ["x"]}],
)
def test_malformed_payloads_are_invalid(payload: Any) -> None:
    with pytest.raises(PayloadInvalid):
        convert_payload(payload)


@pytest.mark.parametrize(
    "payload", [{}, {"text": ""}, {"text": "   "}, {"attachments": [{}]}, {"blocks": []}]
)
def test_nothing_to_show_is_no_text(payload: dict[str, Any]) -> None:
    with pytest.raises(NoText):
        convert_payload(payload)


def test_a_thread_ts_names_the_root() -> None:
    assert convert_payload({"text": "x", "thread_ts": "m_123"}).thread_ts == "m_123"
    assert convert_payload({"text": "x", "thread_ts": 12.5}).thread_ts is None
