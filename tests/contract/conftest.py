from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hubbub.store.engine import Engine
from hubbub.store.sqlite import SQLiteEngine

ENGINES = ["sqlite"]


@pytest.fixture(params=ENGINES)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Engine]:
    """A fresh, empty database on each backend."""
    opened: Engine = await SQLiteEngine.open(tmp_path / "contract.db")
    try:
        yield opened
    finally:
        await opened.close()
