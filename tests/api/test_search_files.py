"""has:file finds messages with attachments, and stops finding one once it is deleted (its
uploads go with it). Both engines."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubbub.config import Settings
from tests.api.conftest import Account
from tests.api.files_support import uploaded

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.replace(files_url=str(tmp_path / "files"))


async def found(account: Account, q: str) -> list[str]:
    r = await account.get("/search", params={"q": q})
    assert r.status_code == 200, r.text
    return [hit["message"]["text"] for hit in r.json()["results"]]


async def test_has_file_finds_messages_with_attachments(alice: Account, bob: Account) -> None:
    await alice.send("general", "the report, in words")
    one = await uploaded(alice, "general", b"quarterly numbers", filename="report.csv")
    with_file = await alice.send("general", "the report, attached", attachments=[one["id"]])
    two = await uploaded(bob, "general", b"a picture", filename="pic.bin")
    await bob.send("general", "", attachments=[two["id"]])  # files alone: no words
    await alice.send("general", "see https://example.org/report")
    assert await found(alice, "has:file") == ["", "the report, attached"]
    assert await found(alice, "has:file report") == ["the report, attached"]
    assert await found(alice, "has:file has:link") == []
    assert await found(alice, "has:file from:bob") == [""]
    assert (await alice.delete(f"/messages/{with_file['id']}")).status_code == 204
    assert await found(alice, "has:file report") == []
    bad = await alice.get("/search", params={"q": "has:photo"})
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_query"
