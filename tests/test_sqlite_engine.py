"""SQLite-specific guarantees: WAL + synchronous setting, group commit, restart durability."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from hubbub.store.engine import Tx
from hubbub.store.sqlite import SQLiteEngine

pytestmark = pytest.mark.anyio


def insert(i: int) -> Callable[[Tx], int]:
    def fn(tx: Tx) -> int:
        return tx.execute("INSERT INTO t (v) VALUES (:v)", {"v": i})

    return fn


@pytest.mark.parametrize(("setting", "pragma_value"), [("FULL", 2), ("NORMAL", 1)])
async def test_wal_and_synchronous_setting_applied(
    tmp_path: Path, setting: str, pragma_value: int
) -> None:
    engine = await SQLiteEngine.open(tmp_path / "db" / "x.db", synchronous=setting)
    try:
        mode = await engine.write(lambda tx: tx.fetchone("PRAGMA journal_mode"))
        sync = await engine.write(lambda tx: tx.fetchone("PRAGMA synchronous"))
        assert mode is not None
        assert sync is not None
        assert mode[0] == "wal"
        assert sync[0] == pragma_value
    finally:
        await engine.close()


async def test_concurrent_writes_share_commits(tmp_path: Path) -> None:
    engine = await SQLiteEngine.open(tmp_path / "x.db")
    try:
        await engine.write(lambda tx: tx.execute("CREATE TABLE t (v INTEGER)"))
        before = engine.commits
        async with anyio.create_task_group() as tg:
            for i in range(300):
                tg.start_soon(engine.write, insert(i))
        row = await engine.read(lambda tx: tx.fetchone("SELECT COUNT(*) FROM t"))
        assert row is not None
        assert row[0] == 300
        assert engine.writes - before >= 300
        assert engine.commits - before < 300, "concurrent writes should share transactions"
    finally:
        await engine.close()


async def test_batch_max_bounds_writes_per_commit(tmp_path: Path) -> None:
    engine = await SQLiteEngine.open(tmp_path / "x.db", batch_max=4)
    try:
        await engine.write(lambda tx: tx.execute("CREATE TABLE t (v INTEGER)"))
        before = engine.commits
        async with anyio.create_task_group() as tg:
            for i in range(40):
                tg.start_soon(engine.write, insert(i))
        assert engine.commits - before >= 10
    finally:
        await engine.close()


async def test_acknowledged_writes_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    engine = await SQLiteEngine.open(path)
    await engine.write(lambda tx: tx.execute("CREATE TABLE t (v INTEGER)"))
    async with anyio.create_task_group() as tg:
        for i in range(100):
            tg.start_soon(engine.write, insert(i))
    await engine.close()
    engine = await SQLiteEngine.open(path)
    try:
        row = await engine.read(lambda tx: tx.fetchone("SELECT COUNT(*), SUM(v) FROM t"))
        assert row is not None
        assert tuple(row) == (100, sum(range(100)))
    finally:
        await engine.close()


async def test_closed_engine_refuses_work(tmp_path: Path) -> None:
    engine = await SQLiteEngine.open(tmp_path / "x.db")
    await engine.close()
    with pytest.raises(RuntimeError):
        await engine.write(lambda tx: tx.execute("SELECT 1"))
