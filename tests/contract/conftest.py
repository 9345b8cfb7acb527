from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hubbub.store.engine import Engine
from hubbub.store.postgres import PostgresEngine
from hubbub.store.sqlite import SQLiteEngine
from tests.backends import Databases

ENGINES = ["sqlite", "postgres"]


@pytest.fixture(params=ENGINES)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Engine]:
    """A fresh, empty database (no schema) on each backend."""
    opened: Engine
    if request.param == "sqlite":
        opened = await SQLiteEngine.open(tmp_path / "contract.db")
        dropped = None
    else:
        databases: Databases = request.getfixturevalue("pg_databases")
        dropped = databases.create_empty()
        opened = await PostgresEngine.open(dropped)
    try:
        yield opened
    finally:
        await opened.close()
        if dropped is not None:
            databases.drop(dropped)
