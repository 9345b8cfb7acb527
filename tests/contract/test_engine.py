"""Every Engine honours the same contract: committed-before-answer, isolation, snapshots."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest

from hubbub.store.engine import Engine, Tx

pytestmark = pytest.mark.anyio


async def make_table(engine: Engine) -> None:
    await engine.write(lambda tx: tx.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)"))


def insert(k: str, v: int) -> Callable[[Tx], int]:
    def fn(tx: Tx) -> int:
        return tx.execute("INSERT INTO t (k, v) VALUES (:k, :v)", {"k": k, "v": v})

    return fn


async def count(engine: Engine) -> int:
    row = await engine.read(lambda tx: tx.fetchone("SELECT COUNT(*) FROM t"))
    assert row is not None
    return int(row[0])


async def test_acknowledged_write_is_visible_to_next_read(engine: Engine) -> None:
    await make_table(engine)
    assert await engine.write(insert("a", 1)) == 1
    rows = await engine.read(lambda tx: tx.fetchall("SELECT k, v FROM t"))
    assert [tuple(r) for r in rows] == [("a", 1)]


async def test_failing_write_rolls_back_alone_among_concurrent_writes(engine: Engine) -> None:
    await make_table(engine)
    await engine.write(insert("dup", 0))
    errors: list[Exception] = []

    async def ok(i: int) -> None:
        await engine.write(insert(f"k{i}", i))

    async def bad() -> None:
        def fn(tx: Tx) -> None:
            tx.execute("INSERT INTO t (k, v) VALUES ('half', 1)")
            tx.execute("INSERT INTO t (k, v) VALUES ('dup', 1)")  # violates the primary key

        try:
            await engine.write(fn)
        except Exception as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for i in range(50):
            tg.start_soon(ok, i)
            if i % 10 == 0:
                tg.start_soon(bad)
    assert len(errors) == 5
    assert await count(engine) == 51  # 'dup' + 50; no 'half' rows survived
    half = await engine.read(lambda tx: tx.fetchone("SELECT COUNT(*) FROM t WHERE k = 'half'"))
    assert half is not None
    assert half[0] == 0


async def test_exception_type_from_write_reaches_caller(engine: Engine) -> None:
    class Boom(Exception):
        pass

    def fn(tx: Tx) -> None:
        raise Boom("no")

    with pytest.raises(Boom):
        await engine.write(fn)


async def test_ping(engine: Engine) -> None:
    await engine.ping()
