"""What counts as a slash command in a message's text (services/commands.py `parse`)."""

from __future__ import annotations

import pytest

from hubbub.services.commands import Invocation, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/weather", Invocation("weather", "")),
        ("/weather Paris", Invocation("weather", "Paris")),
        ("/weather   in  Paris \n", Invocation("weather", "in  Paris")),
        ("/deploy\napi now", Invocation("deploy", "api now")),
        ("/a-b_c9 x", Invocation("a-b_c9", "x")),
        ("//weather is nice", "/weather is nice"),
        ("//", "/"),
        ("/usr/bin is full", "/usr/bin is full"),
        ("/Weather", "/Weather"),
        ("/", "/"),
        ("/ weather", "/ weather"),
        (" /weather", " /weather"),
        ("see /weather", "see /weather"),
        ("/" + "a" * 33, "/" + "a" * 33),
        ("/wéather", "/wéather"),
        ("hello", "hello"),
    ],
)
def test_only_a_lower_case_name_at_the_very_start_is_a_command(
    text: str, expected: Invocation | str
) -> None:
    assert parse(text) == expected
