"""The push queue (store/push.py, migration 0018) on each database: a (message,
subscription) pair is queued once; a claimed row is one holder's until its claim lapses; a
holder whose claim lapsed cannot put the row back over the new holder's; rows go with their
subscription, and subscriptions with their session."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator

import pytest

from hubbub.app import open_store
from hubbub.config import Settings
from hubbub.models import PushSubscription, User
from hubbub.store import Store, Tx
from hubbub.store import push as push_q
from hubbub.store.sessions import delete_session, insert_session
from hubbub.store.users import insert_user

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000_000


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    opened = await open_store(settings)
    await opened.migrate()

    def seed(tx: Tx) -> None:
        insert_user(tx, User("u_bob", "bob", "Bob", NOW), "!")
        insert_session(tx, "s_phone", "hash-phone", "u_bob", NOW)
        insert_session(tx, "s_laptop", "hash-laptop", "u_bob", NOW)
        for sub_id, session in (("ps_phone", "s_phone"), ("ps_laptop", "s_laptop")):
            push_q.upsert_subscription(
                tx,
                PushSubscription(
                    sub_id, "u_bob", session, f"https://push.example/{sub_id}", "k", "a", NOW
                ),
            )

    await opened.write(seed)
    try:
        yield opened
    finally:
        await opened.close()


async def count(store: Store, table: str) -> int:
    row = await store.read(lambda tx: tx.fetchone(f"SELECT COUNT(*) FROM {table}"))
    assert row is not None
    return int(row[0])


async def test_a_pair_is_queued_once_per_subscription(store: Store) -> None:
    rows = [("m_1", "u_bob", "dm", NOW), ("m_2", "u_bob", "mention", NOW)]
    added = await store.write(lambda tx: push_q.enqueue(tx, rows, NOW))
    assert added == 4, "two messages to two subscriptions"
    again = await store.write(lambda tx: push_q.enqueue(tx, rows, NOW))
    assert again == 0
    assert await count(store, "push_queue") == 4


async def test_a_claim_is_one_holders_until_it_lapses(store: Store) -> None:
    await store.write(lambda tx: push_q.enqueue(tx, [("m_1", "u_bob", "dm", NOW)], NOW))
    claim = functools.partial(push_q.claim_due, now_ms=NOW, until_ms=NOW + 1000, limit=10)
    mine = await store.write(functools.partial(claim, holder="a"))
    assert sorted(d.subscription_id for d in mine) == ["ps_laptop", "ps_phone"]
    assert await store.write(functools.partial(claim, holder="b")) == []
    assert await store.read(push_q.next_look) == NOW + 1000
    # a hangs; its claim lapses and b takes the rows over
    later = functools.partial(
        push_q.claim_due, holder="b", now_ms=NOW + 1001, until_ms=NOW + 5000, limit=10
    )
    taken = await store.write(later)
    assert len(taken) == 2
    # a comes back: it cannot put b's rows back
    await store.write(lambda tx: push_q.reschedule(tx, mine[0], "a", NOW, attempted=True))
    rows = await store.read(
        lambda tx: tx.fetchall("SELECT claimed_by, attempts FROM push_queue ORDER BY 1")
    )
    assert [(r[0], int(r[1])) for r in rows] == [("b", 0), ("b", 0)]
    # b retries one later and sends the other
    await store.write(lambda tx: push_q.reschedule(tx, taken[0], "b", NOW + 9000, attempted=True))
    await store.write(
        lambda tx: push_q.delete_queued(tx, taken[1].message_id, taken[1].subscription_id)
    )
    assert await store.read(push_q.next_look) == NOW + 9000
    assert await store.write(functools.partial(claim, holder="c")) == []


async def test_rows_go_with_the_subscription_and_subscriptions_with_the_session(
    store: Store,
) -> None:
    await store.write(lambda tx: push_q.enqueue(tx, [("m_1", "u_bob", "dm", NOW)], NOW))
    await store.write(lambda tx: delete_session(tx, "s_phone"))
    subs = await store.read(lambda tx: push_q.list_subscriptions(tx, "u_bob"))
    assert [s.id for s in subs] == ["ps_laptop"]
    rows = await store.read(lambda tx: tx.fetchall("SELECT subscription_id FROM push_queue"))
    assert [r[0] for r in rows] == ["ps_laptop"]
    assert await store.write(lambda tx: push_q.delete_subscription(tx, "ps_laptop"))
    assert await count(store, "push_queue") == 0
    assert await count(store, "push_subscriptions") == 0
