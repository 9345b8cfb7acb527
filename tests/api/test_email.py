"""Missed-message email (#18) against a real SMTP server on 127.0.0.1 (aiosmtpd): address
confirmation, one digest per window of the DMs and mentions still unread, nothing for what
was read in time or deleted, one-click unsubscribe (RFC 8058), exactly once across a restart.
Time is a FakeClock; both engines."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from hubbub.app import create_app
from hubbub.config import Settings
from hubbub.services import Services
from tests.api.conftest import USER_FIELDS, Account, assert_problem, sign_up
from tests.api.test_export import ready_export, unzip
from tests.conftest import check_stored_events
from tests.fakes import FakeClock
from tests.mailbox import Inbox, local_inbox

pytestmark = pytest.mark.anyio

PUBLIC = "https://chat.example.com"
DELAY = 15 * 60.0  # HUBBUB_EMAIL_DELAY's default
WAIT = 10.0  # seconds the test waits for what runs in the background


async def until(done: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not done():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def wait_mails(inbox: Inbox, count: int) -> list[EmailMessage]:
    await until(lambda: len(inbox.mails) >= count, f"{count} mails")
    return inbox.mails


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with local_inbox() as box:
        yield box


@dataclass
class Server:
    app: FastAPI
    client: httpx.AsyncClient
    clock: FakeClock

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    async def sql(self, query: str, **params: Any) -> list[Any]:
        rows = await self.services.email.uow.read(lambda tx: tx.fetchall(query, params))
        return list(rows)

    async def caught_up(self) -> None:
        """Wait until the email consumer has handled every event stored so far."""
        head = (await self.sql("SELECT pos FROM event_counter WHERE id = 1"))[0][0]

        async def place() -> int:
            rows = await self.sql("SELECT pos FROM log_consumers WHERE name = 'email'")
            return int(rows[0][0]) if rows else -1

        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while await place() < head:
            assert loop.time() < deadline, "the email consumer did not catch up"
            await asyncio.sleep(0.01)

    async def leads(self) -> None:
        """Wait until this app's email consumer holds the lease."""
        consumer = self.app.state.email_consumer
        await until(lambda: consumer.pos is not None, "the email consumer's lease")

    async def queued(self) -> int:
        return int((await self.sql("SELECT COUNT(*) FROM email_queue"))[0][0])

    async def after_delay(self, seconds: float = DELAY + 1) -> None:
        """Let the time pass, and wait for the sender to finish a round after it."""
        await self.caught_up()
        counts = self.services.email.counts
        before = counts.rounds
        self.clock.advance(seconds)
        await until(lambda: counts.rounds > before, "a round of the digest sender")


def mail_settings(settings: Settings, inbox_port: int) -> Settings:
    return settings.replace(
        smtp_url=f"smtp://127.0.0.1:{inbox_port}?starttls=false",
        mail_from="hubbub <chat@example.com>",
        public_url=PUBLIC,
        session_idle_days=365,
    )


@contextlib.asynccontextmanager
async def running(
    settings: Settings, clock: FakeClock, leader: bool = True
) -> AsyncIterator[Server]:
    """An app on `settings`; with `leader`, once its email consumer holds the lease (it starts
    at the log's head, and only the lease holder sends)."""
    app = create_app(settings, clock=clock)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            server = Server(app, client, clock)
            if leader:
                await server.leads()
            yield server
    await check_stored_events(settings)


@pytest.fixture
async def server(settings: Settings, clock: FakeClock, inbox: Inbox) -> AsyncIterator[Server]:
    async with running(mail_settings(settings, inbox.port), clock) as s:
        yield s


async def account(server: Server, name: str) -> Account:
    return await sign_up(server.client, name)


def link_in(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    found = re.search(r"https://chat\.example\.com/email/confirm/(\S+)", body.get_content())
    assert found, body.get_content()
    return found.group(0)


async def confirm(server: Server, inbox: Inbox, who: Account, address: str) -> None:
    count = len(inbox.mails)
    r = await who.patch("/me", {"email": address})
    assert r.status_code == 200, r.text
    mails = await wait_mails(inbox, count + 1)
    path = link_in(mails[-1]).removeprefix(PUBLIC)
    r = await server.client.post(path)
    assert r.status_code == 200, r.text


async def digest_on(who: Account) -> None:
    r = await who.put("/me/notifications", {"email": "digest", "push_preview": True})
    assert r.status_code == 200, r.text


async def dm(a: Account, b: Account) -> str:
    r = await a.post("/dms", {"username": b.username})
    assert r.status_code in (200, 201), r.text
    return str(r.json()["id"])


def parts(mail: EmailMessage) -> tuple[str, str]:
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content())


# -- the address ------------------------------------------------------------------------------


async def test_an_address_is_confirmed_by_the_link_mailed_to_it(
    server: Server, inbox: Inbox
) -> None:
    bob = await account(server, "bob")
    r = await bob.patch("/me", {"email": "bob@example.org"})
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "bob@example.org"
    assert r.json()["email_confirmed"] is False
    [mail] = await wait_mails(inbox, 1)
    assert mail["To"] == "bob@example.org"
    assert mail["From"] == "hubbub <chat@example.com>"
    link = link_in(mail)
    path = link.removeprefix(PUBLIC)
    # Opening the link (a mail scanner may) changes nothing: the page has a button.
    page = await server.client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f'action="{path}"' in page.text
    assert (await bob.get("/me")).json()["email_confirmed"] is False
    done = await server.client.post(path)
    assert done.status_code == 200, done.text
    me = (await bob.get("/me")).json()
    assert (me["email"], me["email_confirmed"]) == ("bob@example.org", True)
    # Once only; and the token is stored only as its hash.
    assert (await server.client.post(path)).status_code == 410
    token = path.rsplit("/", 1)[1]
    assert not await server.sql("SELECT 1 FROM email_confirmations WHERE token_hash = :t", t=token)
    # Nobody else sees it.
    alice = await account(server, "alice")
    seen = (await alice.get("/users/bob")).json()
    assert set(seen) == USER_FIELDS
    assert "bob@example.org" not in (await alice.get("/users")).text
    # It is bob's data: his export carries it.
    assert (await bob.post("/me/export")).status_code == 202
    exported = unzip(await ready_export(bob))["account.json"]
    assert (exported["email"], exported["email_confirmed"]) == ("bob@example.org", True)


async def test_the_api_confirms_too_and_an_old_link_dies_with_a_new_address(
    server: Server, inbox: Inbox
) -> None:
    bob = await account(server, "bob")
    await bob.patch("/me", {"email": "old@example.org"})
    [first] = await wait_mails(inbox, 1)
    await bob.patch("/me", {"email": "new@example.org"})
    second = (await wait_mails(inbox, 2))[1]
    old_token = link_in(first).rsplit("/", 1)[1]
    new_token = link_in(second).rsplit("/", 1)[1]
    r = await server.client.post("/api/v1/email-confirmations", json={"token": old_token})
    assert_problem(r, 410, "confirmation_expired")
    r = await server.client.post("/api/v1/email-confirmations", json={"token": new_token})
    assert r.status_code == 204, r.text
    me = (await bob.get("/me")).json()
    assert (me["email"], me["email_confirmed"]) == ("new@example.org", True)
    # The same address again changes nothing and mails nothing.
    r = await bob.patch("/me", {"email": "new@example.org"})
    assert r.json()["email_confirmed"] is True
    # Removing it.
    r = await bob.patch("/me", {"email": None})
    assert (r.json()["email"], r.json()["email_confirmed"]) == (None, False)
    assert len(inbox.mails) == 2
    r = await server.client.post("/api/v1/email-confirmations", json={"token": "nope"})
    assert_problem(r, 410, "confirmation_expired")


@pytest.mark.parametrize(
    "address",
    [
        "no-at-sign",
        "two@@example.org",
        "@example.org",
        "bob@",
        "bob@localhost",
        "bob@exa mple.org",
        "bob smith@example.org",
        "bob@example.org\r\nBcc: eve@example.org",
        "bob@-example.org",
        "bob..x@example.org",
        "bøb@example.org",
        "a" * 65 + "@example.org",
        "",
    ],
)
async def test_a_malformed_address_is_422(server: Server, inbox: Inbox, address: str) -> None:
    bob = await account(server, "bob")
    r = await bob.patch("/me", {"email": address})
    assert_problem(r, 422, "invalid")
    assert (await bob.get("/me")).json()["email"] is None
    assert inbox.mails == []


async def test_too_long_and_wrong_types_are_422(server: Server) -> None:
    bob = await account(server, "bob")
    assert_problem(await bob.patch("/me", {"email": "a@" + "b" * 250 + ".org"}), 422, "invalid")
    assert_problem(await bob.patch("/me", {"email": 7}), 422, "invalid")
    r = await server.client.post("/api/v1/email-confirmations", json={"token": ""})
    assert_problem(r, 422, "invalid")


async def test_a_relay_that_refuses_the_mail_is_503_and_the_address_stays_unconfirmed(
    server: Server, inbox: Inbox
) -> None:
    bob = await account(server, "bob")
    inbox.refuse = 1
    r = await bob.patch("/me", {"email": "bob@example.org"})
    assert_problem(r, 503, "mail_unavailable")
    me = (await bob.get("/me")).json()
    assert (me["email"], me["email_confirmed"]) == ("bob@example.org", False)
    r = await bob.patch("/me", {"email": "bob@example.org"})  # again: a new link
    assert r.status_code == 200
    assert len(await wait_mails(inbox, 1)) == 1


async def test_without_smtp_email_answers_email_disabled(settings: Settings) -> None:
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            bob = await sign_up(client, "bob")
            r = await bob.patch("/me", {"email": "bob@example.org"})
            assert_problem(r, 409, "email_disabled")
            assert (await bob.get("/me")).json()["email"] is None
            assert (await bob.patch("/me", {"email": None})).status_code == 200
            services: Services = app.state.services
            rows = await services.email.uow.read(
                lambda tx: tx.fetchall("SELECT name FROM log_consumers")
            )
            assert ("email",) not in [tuple(r) for r in rows]


# -- digests ----------------------------------------------------------------------------------


@dataclass
class Cast:
    alice: Account
    bob: Account
    dm: str
    room: str


@pytest.fixture
async def cast(server: Server, inbox: Inbox) -> Cast:
    """bob has a confirmed address and digests on; alice shares a DM and a room with him."""
    alice = await account(server, "alice")
    bob = await account(server, "bob")
    await confirm(server, inbox, bob, "bob@example.org")
    await digest_on(bob)
    inbox.mails.clear()
    room = await alice.create_room("plans", "private")
    r = await alice.put(f"/rooms/{room['id']}/members/bob")
    assert r.status_code == 201, r.text
    return Cast(alice, bob, await dm(alice, bob), str(room["id"]))


async def test_unread_dms_and_mentions_make_one_digest_after_the_delay(
    server: Server, inbox: Inbox, cast: Cast
) -> None:
    direct = await cast.alice.send(cast.dm, "Lunch at noon?")
    server.clock.advance(1)
    mention = await cast.alice.send(cast.room, "@bob can you review <b>this</b> & that?")
    await cast.alice.send(cast.room, "a plain message, no mention")  # not mailed
    await server.caught_up()
    assert await server.queued() == 2
    await server.after_delay(DELAY - 60)
    assert inbox.mails == []  # not yet
    await server.after_delay(61)
    [mail] = await wait_mails(inbox, 1)
    assert mail["To"] == "bob@example.org"
    assert mail["Subject"] == "2 unread messages from alice"
    assert mail["Auto-Submitted"] == "auto-generated"
    unsubscribe = mail["List-Unsubscribe"]
    assert re.fullmatch(rf"<{PUBLIC}/email/unsubscribe/\S+>", unsubscribe), unsubscribe
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = parts(mail)
    assert "Lunch at noon?" in text
    assert "@bob can you review <b>this</b> & that?" in text
    assert "a plain message" not in text
    assert f"{PUBLIC}/#/r/{cast.dm}/{direct['seq']}" in text
    assert f"{PUBLIC}/#/r/{cast.room}/{mention['seq']}" in text
    assert "a direct message" in text
    assert "#plans" in text
    assert "can you review &lt;b&gt;this&lt;/b&gt; &amp; that?" in html
    assert "<b>this</b>" not in html
    assert f'href="{PUBLIC}/#/r/{cast.dm}/{direct["seq"]}"' in html
    assert text.index("Lunch") < text.index("review")  # oldest first
    assert await server.queued() == 0
    await server.after_delay()
    assert len(inbox.mails) == 1


async def test_html_in_a_message_is_escaped_in_the_html_part(
    server: Server, inbox: Inbox, cast: Cast
) -> None:
    evil = '<script>alert(1)</script><img src=x onerror="steal()"> "quoted" \'single\''
    await cast.alice.send(cast.dm, evil)
    await server.after_delay()
    [mail] = await wait_mails(inbox, 1)
    _, html = parts(mail)
    assert "<script>" not in html
    assert "<img" not in html
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;steal()&quot;&gt;" in html
    )


async def test_what_was_read_in_time_is_not_mailed(
    server: Server, inbox: Inbox, cast: Cast
) -> None:
    read = await cast.alice.send(cast.dm, "read this one")
    r = await cast.bob.put(f"/rooms/{cast.dm}/read", {"seq": read["seq"]})
    assert r.status_code == 204, r.text
    await server.after_delay()
    assert inbox.mails == []
    assert await server.queued() == 0
    # With one read and one unread, the digest has only the unread one.
    await cast.alice.send(cast.room, "@bob unread mention")
    seen = await cast.alice.send(cast.dm, "read in time")
    await cast.bob.put(f"/rooms/{cast.dm}/read", {"seq": seen["seq"]})
    await server.after_delay()
    [mail] = await wait_mails(inbox, 1)
    text, _ = parts(mail)
    assert "@bob unread mention" in text
    assert "read in time" not in text


async def test_a_deleted_message_is_not_mailed(server: Server, inbox: Inbox, cast: Cast) -> None:
    gone = await cast.alice.send(cast.dm, "oops, secret text")
    await server.caught_up()
    assert await server.queued() == 1
    r = await cast.alice.delete(f"/messages/{gone['id']}")
    assert r.status_code == 204
    await cast.alice.send(cast.room, "@bob still here")
    await server.after_delay()
    [mail] = await wait_mails(inbox, 1)
    text, html = parts(mail)
    assert "secret text" not in text
    assert "secret text" not in html
    assert "still here" in text
    assert mail["Subject"] == "1 unread message from alice"


async def test_one_mail_per_window_and_later_messages_go_in_the_next(
    server: Server, inbox: Inbox, cast: Cast
) -> None:
    await cast.alice.send(cast.dm, "first")
    await server.after_delay(10 * 60)
    await cast.alice.send(cast.dm, "second, within the window")
    await server.after_delay(5 * 60 + 1)
    [mail] = await wait_mails(inbox, 1)
    text, _ = parts(mail)
    assert "first" in text
    assert "second, within the window" in text
    await cast.alice.send(cast.dm, "third, after the digest")
    await server.after_delay(DELAY - 60)
    assert len(inbox.mails) == 1
    await server.after_delay(61)
    mails = await wait_mails(inbox, 2)
    text, _ = parts(mails[1])
    assert "third, after the digest" in text
    assert "first" not in text
    await server.after_delay()
    assert len(inbox.mails) == 2


async def test_one_click_unsubscribe_turns_email_off_without_signing_in(
    server: Server, inbox: Inbox, cast: Cast
) -> None:
    await cast.alice.send(cast.dm, "hello")
    await server.after_delay()
    [mail] = await wait_mails(inbox, 1)
    url = mail["List-Unsubscribe"].strip("<>")
    path = url.removeprefix(PUBLIC)
    page = await server.client.get(path)  # a look changes nothing
    assert page.status_code == 200
    assert "Unsubscribe" in page.text
    assert (await cast.bob.get("/me/notifications")).json()["email"] == "digest"
    # What a mail program sends (RFC 8058): a form POST, no credentials.
    r = await server.client.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text
    assert (await cast.bob.get("/me/notifications")).json()["email"] == "off"
    assert (await server.client.post(path)).status_code == 200  # idempotent
    # A forged or altered token does nothing.
    user_id = path.rsplit("/", 1)[1].split(".")[0]
    forgeries = (f"{cast.alice.id}.{path.rsplit('.', 1)[1]}", f"{user_id}.AAAA", "x", user_id)
    for bad in (*forgeries, f"{user_id}.%C3%BC", "%E2%80%AE.x"):
        forged = await server.client.post(f"/email/unsubscribe/{bad}")
        assert forged.status_code == 404, bad
    # Off: nothing more is queued or mailed.
    await cast.alice.send(cast.dm, "after unsubscribing")
    await server.after_delay()
    assert len(inbox.mails) == 1
    assert await server.queued() == 0


async def test_nothing_is_mailed_with_email_off_or_before_confirmation(
    server: Server, inbox: Inbox
) -> None:
    alice = await account(server, "alice")
    off = await account(server, "carol")  # confirmed, but email off
    await confirm(server, inbox, off, "carol@example.org")
    unconfirmed = await account(server, "dave")  # digest on, address not confirmed
    r = await unconfirmed.patch("/me", {"email": "dave@example.org"})
    assert r.status_code == 200
    await digest_on(unconfirmed)
    await wait_mails(inbox, 2)  # the two confirmation mails
    for other in (off, unconfirmed):
        await alice.send(await dm(alice, other), f"hello {other.username}")
    await server.after_delay()
    assert len(inbox.mails) == 2
    assert await server.queued() == 0


async def test_a_refused_digest_is_retried_with_back_off(
    server: Server, inbox: Inbox, cast: Cast
) -> None:
    await cast.alice.send(cast.dm, "try, try again")
    inbox.refuse = 2
    await server.after_delay()
    assert inbox.mails == []
    counts = server.services.email.counts
    assert counts.retried == 1
    await server.after_delay(30)  # the first retry waits a minute
    assert counts.retried == 1
    await server.after_delay(31)
    assert counts.retried == 2
    await server.after_delay(2 * 60 + 1)
    [mail] = await wait_mails(inbox, 1)
    assert "try, try again" in parts(mail)[0]
    metrics = (await server.client.get("/metrics")).text
    assert 'hubbub_emails_sent_total{kind="digest"} 1.0' in metrics
    assert "hubbub_emails_retried_total 2.0" in metrics


async def test_a_restart_between_queueing_and_sending_sends_once(
    settings: Settings, clock: FakeClock, inbox: Inbox
) -> None:
    configured = mail_settings(settings, inbox.port)
    async with running(configured, clock) as first:
        alice = await account(first, "alice")
        bob = await account(first, "bob")
        await confirm(first, inbox, bob, "bob@example.org")
        await digest_on(bob)
        await alice.send(await dm(alice, bob), "sent before the restart")
        await first.caught_up()
        assert await first.queued() == 1
    assert len(inbox.mails) == 1  # the confirmation
    async with running(configured, clock) as second:
        await second.after_delay()
        mails = await wait_mails(inbox, 2)
        assert "sent before the restart" in parts(mails[1])[0]
        await second.after_delay()
        assert len(inbox.mails) == 2
        assert await second.queued() == 0


async def test_on_two_nodes_one_sends_and_the_other_takes_over_when_it_stops(
    settings: Settings, clock: FakeClock, inbox: Inbox
) -> None:
    configured = mail_settings(settings, inbox.port)
    async with contextlib.AsyncExitStack() as stack_b:
        first_stack = contextlib.AsyncExitStack()
        first = await first_stack.enter_async_context(running(configured, clock))
        second = await stack_b.enter_async_context(running(configured, clock, leader=False))
        alice = await account(first, "alice")
        bob = await account(first, "bob")
        await confirm(first, inbox, bob, "bob@example.org")
        await digest_on(bob)
        direct = await dm(alice, bob)
        await alice.send(direct, "while the first node leads")
        await first.after_delay()
        mails = await wait_mails(inbox, 2)
        assert "while the first node leads" in parts(mails[1])[0]
        # The fake clock jumps past the lease, so the second node may have taken it over
        # meanwhile: whichever sent, the digest went once.
        sent = [s.services.email.counts.sent["digest"] for s in (first, second)]
        assert sorted(sent) == [0, 1]
        await first_stack.aclose()  # the first node stops (and gives its lease up)
        clock.advance(11)  # when the second tries for the lease again
        await second.leads()
        alice_b = Account(alice.username, alice.token, alice.user, second.client)
        await alice_b.send(direct, "after the first node stopped")
        await second.after_delay()
        mails = await wait_mails(inbox, 3)
        text = parts(mails[2])[0]
        assert "after the first node stopped" in text
        assert "while the first node leads" not in text
        await second.after_delay()
        assert len(inbox.mails) == 3
        assert second.services.email.counts.sent["digest"] == sent[1] + 1


async def test_two_nodes_sending_at_once_mail_a_digest_once(
    settings: Settings, clock: FakeClock, inbox: Inbox
) -> None:
    """Each user's digest is held by one node at a time (a row taken atomically), so even
    two nodes that both believe they lead send it once."""
    configured = mail_settings(settings, inbox.port)
    async with (
        running(configured, clock) as first,
        running(configured, clock, leader=False) as second,
    ):
        alice = await account(first, "alice")
        bob = await account(first, "bob")
        await confirm(first, inbox, bob, "bob@example.org")
        await digest_on(bob)
        await alice.send(await dm(alice, bob), "only once, please")
        await first.caught_up()
        # Past the delay, without waking either node's sender: both send at the same moment.
        clock.skip(DELAY + 1)
        sent = await asyncio.gather(
            first.services.email.send_due(), second.services.email.send_due()
        )
        assert sorted(sent) == [0, 1]
        assert len(inbox.mails) == 2
        assert "only once, please" in parts(inbox.mails[1])[0]


async def test_a_refused_address_leaves_the_display_name_of_the_same_patch_alone(
    server: Server,
) -> None:
    bob = await account(server, "bob")
    r = await bob.patch("/me", {"display_name": "Robert", "email": "not an address"})
    assert_problem(r, 422, "invalid")
    assert (await bob.get("/me")).json()["display_name"] == "bob"
    r = await bob.patch("/me", {"display_name": "Robert", "email": None})
    assert r.json()["display_name"] == "Robert"


async def test_confirmation_mails_are_rate_limited_per_account(
    settings: Settings, clock: FakeClock, inbox: Inbox
) -> None:
    limited = mail_settings(settings, inbox.port).replace(rate_limits="email=2/hour")
    async with running(limited, clock) as server:
        bob = await account(server, "bob")
        for n in (1, 2):
            r = await bob.patch("/me", {"email": f"bob{n}@example.org"})
            assert r.status_code == 200, r.text
        r = await bob.patch("/me", {"email": "bob3@example.org"})
        assert_problem(r, 429, "rate_limited")
        assert r.headers["Retry-After"]
        assert (await bob.get("/me")).json()["email"] == "bob2@example.org"
        assert len(await wait_mails(inbox, 2)) == 2
        # Removing the address is not limited.
        assert (await bob.patch("/me", {"email": None})).status_code == 200


async def test_deleting_an_account_deletes_its_address_links_and_queue(
    server: Server, inbox: Inbox, cast: Cast
) -> None:
    await cast.alice.send(cast.dm, "you will never read this")
    await cast.bob.patch("/me", {"email": "bob@example.org"})  # confirmed: no new link
    await server.caught_up()
    assert await server.queued() == 1
    r = await cast.bob.client.request(
        "DELETE", "/api/v1/me", json={"password": "correct horse"}, headers=cast.bob.headers
    )
    assert r.status_code == 204, r.text
    rows = await server.sql("SELECT email, email_confirmed FROM users WHERE id = :u", u=cast.bob.id)
    assert [tuple(row) for row in rows] == [(None, False)]
    assert await server.queued() == 0
    assert not await server.sql("SELECT 1 FROM email_confirmations")
    await server.after_delay()
    assert inbox.mails == []
