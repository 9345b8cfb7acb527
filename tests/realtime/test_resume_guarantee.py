"""The resume guarantee, tested at random: a driver interleaves sends, edits, deletes,
reactions, read markers and membership changes across users and rooms through the REST API,
while one subscriber disconnects at random points and resumes with its last cursor over a
randomly chosen transport. It must see exactly the durable events it is entitled to, in
order, each once.

The expected events come from an oracle that replays the driver's own record of what it did
and who was in which room, not from the server's filtering: the subscriber is entitled to the
events of rooms it is in at the event's position, to events about its own membership, and to
its own read.updated.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import anyio
import pytest

from tests.realtime.conftest import (
    TRANSPORTS,
    Account,
    Chat,
    StreamEnded,
    Transport,
    is_durable,
    position,
)

pytestmark = pytest.mark.anyio

Key = tuple[Any, ...]
EMOJIS = ("👍", "🎉", "ok")
MANAGERS = ("owner", "admin")


def event_key(event: dict[str, Any]) -> Key:
    """What identifies a durable event, for comparing the stream with the oracle."""
    kind, room, data = event["type"], event["room_id"], event["data"]
    if kind == "message.created":
        return (kind, room, data["id"], data["seq"], data["text"])
    if kind == "message.updated":
        return (kind, room, data["id"], data["text"])
    if kind == "message.deleted":
        return (kind, room, data["id"])
    if kind in ("reaction.added", "reaction.removed"):
        return (kind, room, data["message_id"], data["emoji"], data["user_id"])
    if kind == "member.joined":
        return (kind, room, data["user"]["id"], data["role"])
    if kind == "member.left":
        return (kind, room, data["user"]["id"])
    if kind == "member.updated":
        return (kind, room, data["user"]["id"], data["role"])
    if kind == "read.updated":
        return (kind, room, data["last_read_seq"])
    if kind == "room.updated":
        return (kind, room, data["name"])
    raise AssertionError(f"unexpected durable event type {kind!r}: {event}")


# -- the oracle ----------------------------------------------------------------------------


@dataclass
class MessageModel:
    id: str
    room: str
    seq: int
    author: str | None  # None: a classic guest
    text: str
    deleted: bool = False
    reactions: set[tuple[str, str]] = field(default_factory=set)  # (user id, emoji)


@dataclass
class RoomModel:
    id: str
    kind: str  # "lobby", "public", "private", "dm"
    name: str
    roles: dict[str, str] = field(default_factory=dict)  # user id -> role
    last_seq: int = 0

    @property
    def is_public(self) -> bool:
        return self.kind in ("lobby", "public")

    def can_see(self, user: str) -> bool:
        return self.is_public or user in self.roles

    def managers(self) -> list[str]:
        return [u for u, role in self.roles.items() if role in MANAGERS]


class World:
    """The driver's record of users, rooms and messages, and the events the subscriber is
    entitled to, in the order the (sequential) driver caused them."""

    def __init__(self, subscriber: str) -> None:
        self.subscriber = subscriber
        self.rooms: dict[str, RoomModel] = {}
        self.messages: list[MessageModel] = []
        self.dms: set[frozenset[str]] = set()
        self.expected: list[Key] = []
        self.recording = False

    def emit(self, key: Key, *, subject: str | None = None, private: bool = False) -> None:
        room = self.rooms[key[1]]
        mine = subject == self.subscriber
        if self.recording and (mine or (not private and self.subscriber in room.roles)):
            self.expected.append(key)

    def joined(self, room: RoomModel, user: str, role: str) -> None:
        room.roles[user] = role  # before the check: a joiner gets their own member.joined
        self.emit(("member.joined", room.id, user, role), subject=user)

    def left(self, room: RoomModel, user: str) -> None:
        self.emit(("member.left", room.id, user), subject=user)
        del room.roles[user]  # after the check: a leaver gets their own member.left

    def role_changed(self, room: RoomModel, user: str, role: str) -> None:
        room.roles[user] = role
        self.emit(("member.updated", room.id, user, role), subject=user)

    def created(self, message: MessageModel) -> None:
        room = self.rooms[message.room]
        room.last_seq = message.seq
        self.messages.append(message)
        self.emit(("message.created", room.id, message.id, message.seq, message.text))


# -- the driver ----------------------------------------------------------------------------


class Driver:
    """Random valid (and some refused) actions through the REST API; each action checks the
    status the model predicts and records its events in the world."""

    def __init__(self, chat: Chat, world: World, users: list[Account], rng: random.Random):
        self.chat = chat
        self.world = world
        self.users = {u.id: u for u in users}
        self.rng = rng
        self.counter = 0

    def text(self) -> str:
        self.counter += 1
        return f"t{self.counter}"

    def pick(self, items: Any) -> Any:
        items = list(items)
        return self.rng.choice(items) if items else None

    def live_rooms(self, min_members: int = 1) -> list[RoomModel]:
        return [r for r in self.world.rooms.values() if len(r.roles) >= min_members]

    async def step(self) -> None:
        actions: list[tuple[int, Callable[[], Any]]] = [
            (30, self.send),
            (3, self.classic_post),
            (8, self.edit),
            (6, self.delete),
            (10, self.react),
            (8, self.mark_read),
            (5, self.join),
            (5, self.leave),
            (5, self.add),
            (4, self.remove),
            (4, self.change_role),
            (2, self.open_dm),
            (2, self.rename),
            (1, self.sign_up),
            (3, self.refused),
        ]
        while True:
            action = self.rng.choices([a for _, a in actions], [w for w, _ in actions])[0]
            if await action():
                return

    # Each action returns False when the world offers no way to do it now.

    async def send(self) -> bool:
        room = self.pick(self.live_rooms())
        if room is None:
            return False
        author = self.users[self.pick(room.roles)]
        text = self.text()
        sent = await author.send(room.id, text)
        assert sent["seq"] == room.last_seq + 1
        self.world.created(MessageModel(sent["id"], room.id, sent["seq"], author.id, text))
        return True

    async def classic_post(self) -> bool:
        lobby = self.world.rooms["general"]
        text = self.text()
        await self.chat.classic_post(f"guest{self.rng.randrange(3)}", text)
        seq = lobby.last_seq + 1
        any_user = next(iter(self.users.values()))
        page = (await any_user.get("/rooms/general/messages", params={"after": seq - 1})).json()
        [message] = page["messages"]
        assert (message["seq"], message["text"]) == (seq, text)
        self.world.created(MessageModel(message["id"], "general", seq, None, text))
        return True

    def alive(self) -> list[MessageModel]:
        return [m for m in self.world.messages if not m.deleted]

    async def edit(self) -> bool:
        rooms = self.world.rooms
        message = self.pick(
            m for m in self.alive() if m.author is not None and m.author in rooms[m.room].roles
        )
        if message is None:
            return False
        text = self.text()
        r = await self.users[message.author].patch(f"/messages/{message.id}", {"text": text})
        assert r.status_code == 200, r.text
        message.text = text
        self.world.emit(("message.updated", message.room, message.id, text))
        return True

    async def delete(self) -> bool:
        message = self.pick(self.world.messages)
        if message is None:
            return False
        room = self.world.rooms[message.room]
        can = list(room.managers())
        if message.author is not None and room.can_see(message.author):
            can.append(message.author)
        actor = self.pick(can)
        if actor is None:
            return False
        await self.users[actor].expect(204, "DELETE", f"/messages/{message.id}")
        if not message.deleted:  # deleting twice is idempotent and announces nothing
            message.deleted = True
            message.reactions.clear()
            self.world.emit(("message.deleted", room.id, message.id))
        return True

    async def react(self) -> bool:
        rooms = self.world.rooms
        message = self.pick(m for m in self.alive() if rooms[m.room].roles)
        if message is None:
            return False
        user = self.pick(rooms[message.room].roles)
        emoji = self.pick(EMOJIS)
        add = self.rng.random() < 0.6
        if not add:  # mostly take back a reaction that is there
            there = [
                (m, u, e) for m in self.alive() for u, e in m.reactions if u in rooms[m.room].roles
            ]
            if there and self.rng.random() < 0.8:
                message, user, emoji = self.pick(there)
        had = (user, emoji) in message.reactions
        path = f"/messages/{message.id}/reactions/{quote(emoji)}"
        await self.users[user].expect(204, "PUT" if add else "DELETE", path)
        if add != had:  # an idempotent repeat announces nothing
            (message.reactions.add if add else message.reactions.discard)((user, emoji))
            kind = "reaction.added" if add else "reaction.removed"
            self.world.emit((kind, message.room, message.id, emoji, user))
        return True

    async def mark_read(self) -> bool:
        room = self.pick(self.live_rooms())
        if room is None:
            return False
        me = self.world.subscriber
        # The subscriber's own markers matter most: only they reach its stream.
        mine = me in room.roles and self.rng.random() < 0.5
        user = self.users[me if mine else self.pick(room.roles)]
        seq = self.rng.choice(
            [room.last_seq, room.last_seq + 2, self.rng.randint(0, room.last_seq)]
        )
        if user.id == self.world.subscriber:
            before = (await user.get(f"/rooms/{room.id}")).json()["last_read_seq"]
        await user.expect(204, "PUT", f"/rooms/{room.id}/read", {"seq": seq})
        if user.id == self.world.subscriber and min(seq, room.last_seq) > before:
            marker = min(seq, room.last_seq)
            self.world.emit(("read.updated", room.id, marker), subject=user.id, private=True)
        return True

    async def join(self) -> bool:
        rooms = [r for r in self.world.rooms.values() if r.is_public]
        room = self.pick(rooms)
        user = self.pick(self.users)
        await self.users[user].expect(204, "POST", f"/rooms/{room.id}/join")
        if user not in room.roles:  # joining again is idempotent
            self.world.joined(room, user, "member")
        return True

    async def leave(self) -> bool:
        room = self.pick(r for r in self.live_rooms() if r.kind != "dm")
        if room is None:
            return False
        user = self.pick(room.roles)
        await self.users[user].expect(204, "POST", f"/rooms/{room.id}/leave")
        await self.removed(room, user)
        return True

    async def removed(self, room: RoomModel, user: str) -> None:
        """`user` left or was removed: record it, and the ownership hand-over if any."""
        was_owner = room.roles[user] == "owner"
        admins = [u for u, role in room.roles.items() if role == "admin"]
        self.world.left(room, user)
        if not was_owner or not room.roles:
            return
        # The heir is the longest-serving admin, else member; ask the server which one it
        # was (equal join times make the model unsure) and check it is of the right rank.
        asker = self.users[next(iter(room.roles))]
        members = (await asker.get(f"/rooms/{room.id}/members")).json()["members"]
        [heir] = [m["user"]["id"] for m in members if m["role"] == "owner"]
        assert heir in (admins or list(room.roles)), "the owner's heir must be an admin if any"
        self.world.role_changed(room, heir, "owner")

    async def add(self) -> bool:
        room = self.pick(r for r in self.world.rooms.values() if r.kind != "dm" and r.managers())
        if room is None:
            return False
        outsiders = [u for u in self.users if u not in room.roles]
        if not outsiders:
            return False
        actor = self.pick(room.managers())
        target = self.users[self.pick(outsiders)]
        roles: list[str | None] = [None, "member"]
        if room.roles[actor] == "owner":
            roles.append("admin")
        role = self.pick(roles)
        body = None if role is None else {"role": role}
        path = f"/rooms/{room.id}/members/{target.username}"
        await self.users[actor].expect(201, "PUT", path, body)
        self.world.joined(room, target.id, role or "member")
        return True

    async def remove(self) -> bool:
        choices = []
        for room in self.world.rooms.values():
            for actor in room.managers():
                lower = ("admin", "member") if room.roles[actor] == "owner" else ("member",)
                choices += [(room, actor, u) for u, r in room.roles.items() if r in lower]
        choice = self.pick(choices)
        if choice is None:
            return False
        room, actor, target = choice
        path = f"/rooms/{room.id}/members/{self.users[target].username}"
        await self.users[actor].expect(204, "DELETE", path)
        await self.removed(room, target)
        return True

    async def change_role(self) -> bool:
        choices = []
        for room in self.world.rooms.values():
            owners = [u for u, r in room.roles.items() if r == "owner"]
            choices += [(room, o, u) for o in owners for u in room.roles if u != o]
        choice = self.pick(choices)
        if choice is None:
            return False
        room, owner, target = choice
        role = self.pick(["admin", "member"])
        path = f"/rooms/{room.id}/members/{self.users[target].username}"
        await self.users[owner].expect(200, "PUT", path, {"role": role})
        if room.roles[target] != role:  # the same role again announces nothing
            self.world.role_changed(room, target, role)
        return True

    async def open_dm(self) -> bool:
        a, b = self.rng.sample(list(self.users), 2)
        new = frozenset((a, b)) not in self.world.dms
        r = await self.users[a].post("/dms", {"username": self.users[b].username})
        assert r.status_code == (201 if new else 200), r.text
        if new:
            self.world.dms.add(frozenset((a, b)))
            room = RoomModel(r.json()["id"], "dm", r.json()["name"])
            self.world.rooms[room.id] = room
            self.world.joined(room, a, "member")
            self.world.joined(room, b, "member")
        return True

    async def rename(self) -> bool:
        room = self.pick(r for r in self.world.rooms.values() if r.kind != "dm" and r.managers())
        if room is None:
            return False
        room.name = self.text()
        await self.users[self.pick(room.managers())].expect(
            200, "PATCH", f"/rooms/{room.id}", {"name": room.name}
        )
        self.world.emit(("room.updated", room.id, room.name))
        return True

    async def sign_up(self) -> bool:
        account = await self.chat.sign_up("late", in_lobby=True)
        self.users[account.id] = account
        self.world.joined(self.world.rooms["general"], account.id, "member")
        return True

    async def refused(self) -> bool:
        """A write the server must refuse, which therefore announces nothing."""
        room = self.pick(r for r in self.world.rooms.values() if r.kind != "lobby")
        outsider = self.pick(u for u in self.users if u not in room.roles)
        if outsider is None:
            return False
        status = 403 if room.is_public else 404
        await self.users[outsider].expect(
            status, "POST", f"/rooms/{room.id}/messages", {"text": "refused"}
        )
        return True


async def build_world(chat: Chat, rng: random.Random) -> tuple[World, Driver, Account]:
    """The subscriber and four other users, the lobby and four rooms with random members."""
    subscriber = await chat.sign_up("sub", in_lobby=True)
    others = [await chat.sign_up(f"u{i}", in_lobby=True) for i in range(4)]
    users = [subscriber, *others]
    world = World(subscriber.id)
    lobby = (await subscriber.get("/rooms/general")).json()
    members = (await subscriber.get("/rooms/general/members")).json()["members"]
    # Accounts of other tests are in the lobby too, but never act here: leave them out.
    ours = {u.id for u in users}
    roles = {m["user"]["id"]: m["role"] for m in members if m["user"]["id"] in ours}
    world.rooms["general"] = RoomModel("general", "lobby", "general", roles, lobby["last_seq"])
    driver = Driver(chat, world, users, rng)
    for i, kind in enumerate(("public", "private", "public", "private")):
        owner = rng.choice(users)
        created = await owner.create_room(f"room{i}", kind)
        room = RoomModel(created["id"], kind, created["name"], {owner.id: "owner"})
        world.rooms[room.id] = room
        for user in rng.sample(users, rng.randint(1, 4)):
            if user.id not in room.roles:
                role = rng.choice(["admin", "member", "member"])
                path = f"/rooms/{room.id}/members/{user.username}"
                await owner.expect(201, "PUT", path, {"role": role})
                room.roles[user.id] = role
    return world, driver, subscriber


# -- the subscriber ------------------------------------------------------------------------


@dataclass
class Received:
    cursor: str
    key: Key
    transport: Transport


class Subscriber:
    """Reads the stream in short sessions: each on a random transport, resuming from the last
    cursor received, and ending after a random number of events or a random idle time."""

    def __init__(self, chat: Chat, account: Account, since: str, rng: random.Random) -> None:
        self.chat = chat
        self.account = account
        self.cursor = since
        self.rng = rng
        self.received: list[Received] = []
        self.sessions: dict[str, int] = dict.fromkeys(TRANSPORTS, 0)
        self._progress = anyio.Event()

    def transports(self) -> Iterator[Transport]:
        """Random transports, each used once in every three sessions (so all get used)."""
        while True:
            yield from self.rng.sample(TRANSPORTS, len(TRANSPORTS))

    async def run(self, budgets: tuple[int, ...], idle: tuple[float, float]) -> None:
        for transport in self.transports():
            budget = self.rng.choice(budgets)
            self.sessions[transport] += 1
            async with self.chat.stream(transport, self.account, self.cursor) as stream:
                taken = 0
                while taken < budget:
                    try:
                        event = await stream.next_event(self.rng.uniform(*idle))
                    except StreamEnded as ended:
                        raise AssertionError(f"{transport} ended the stream: {ended}") from None
                    if event is None:
                        break
                    if is_durable(event):
                        self.received.append(Received(event["id"], event_key(event), transport))
                        self._progress.set()
                        taken += 1
                assert stream.cursor is not None
                self.cursor = stream.cursor
            if self.rng.random() < 0.5:  # offline for a while: the next session catches up
                await anyio.sleep(self.rng.uniform(0, 0.15))

    async def wait_for(self, count: int, within: float) -> None:
        """Until `count` events have come (at most `within` seconds), and a little longer
        for any surplus (a duplicate) to show up."""
        with anyio.move_on_after(within):
            while True:
                self._progress = anyio.Event()
                if len(self.received) >= count:
                    break
                await self._progress.wait()
        await anyio.sleep(0.3)

    def check_cursors(self) -> None:
        positions = [position(r.cursor) for r in self.received]
        assert all(a < b for a, b in itertools.pairwise(positions)), (
            "cursors must strictly increase across reconnects"
        )

    async def check_nothing_more(self) -> None:
        r = await self.chat.poll(self.account, self.cursor, wait=0.3)
        assert r.status_code == 200, r.text
        extra = [event_key(e) for e in r.json()["events"] if is_durable(e)]
        assert extra == [], "events after everything expected"


def explain(got: list[Key], want: list[Key]) -> str:
    for i, (a, b) in enumerate(zip(got, want, strict=False)):
        if a != b:
            return f"first difference at #{i}: got {a}, expected {b}"
    return f"got {len(got)} events, expected {len(want)}"


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_disconnects_on_random_transports_deliver_each_entitled_event_once_in_order(
    chat: Chat, seed: int
):
    rng = random.Random(seed)
    world, driver, account = await build_world(chat, rng)
    subscriber = Subscriber(chat, account, await chat.head(account), random.Random(seed + 100))
    world.recording = True
    async with anyio.create_task_group() as tg:
        tg.start_soon(subscriber.run, (0, 1, 2, 3, 5, 8, 20), (0.02, 0.2))
        for _ in range(180):
            await driver.step()
            if rng.random() < 0.3:
                await anyio.sleep(rng.uniform(0, 0.03))
        await subscriber.wait_for(len(world.expected), within=15)
        tg.cancel_scope.cancel()
    got = [r.key for r in subscriber.received]
    assert got == world.expected, explain(got, world.expected)
    subscriber.check_cursors()
    await subscriber.check_nothing_more()
    assert len(world.expected) > 30, "the run should give the subscriber plenty to receive"
    assert sum(subscriber.sessions.values()) >= 12, subscriber.sessions


async def test_resuming_during_a_burst_of_concurrent_sends_loses_and_repeats_nothing(chat: Chat):
    rng = random.Random(7)
    subscriber_account = await chat.sign_up("sub")
    senders = [await chat.sign_up(f"s{i}") for i in range(6)]
    owner = senders[0]
    mine_public = (await owner.create_room("open", "public"))["id"]
    mine_private = (await owner.create_room("closed", "private"))["id"]
    not_mine = (await owner.create_room("elsewhere", "private"))["id"]
    for room in (mine_public, mine_private, not_mine):
        for user in senders[1:]:
            await owner.expect(201, "PUT", f"/rooms/{room}/members/{user.username}")
    for room in (mine_public, mine_private):
        await owner.expect(201, "PUT", f"/rooms/{room}/members/{subscriber_account.username}")
    target = await owner.send(mine_public, "react to me")

    subscriber = Subscriber(
        chat, subscriber_account, await chat.head(subscriber_account), random.Random(8)
    )
    expected: set[Key] = set()
    seqs: dict[str, list[int]] = {mine_public: [], mine_private: []}

    async def burst(sender: Account) -> None:
        for i in range(12):
            room = rng.choice((mine_public, mine_private, not_mine))
            text = f"{sender.username} {i}"
            sent = await sender.send(room, text)
            await anyio.sleep(rng.uniform(0, 0.02))  # stretch the burst over many reconnects
            if room != not_mine:
                expected.add(("message.created", room, sent["id"], sent["seq"], text))
                seqs[room].append(sent["seq"])
            if i % 4 == 0:
                emoji = quote(sender.username)
                await sender.expect(204, "PUT", f"/messages/{target['id']}/reactions/{emoji}")
                key = ("reaction.added", mine_public, target["id"], sender.username, sender.id)
                expected.add(key)

    async with anyio.create_task_group() as tg:
        tg.start_soon(subscriber.run, (0, 1, 2, 3), (0.01, 0.1))
        async with anyio.create_task_group() as senders_group:
            for sender in senders:
                senders_group.start_soon(burst, sender)
        await subscriber.wait_for(len(expected), within=15)
        tg.cancel_scope.cancel()

    got = [r.key for r in subscriber.received]
    assert len(got) == len(set(got)), "an event was delivered twice"
    assert set(got) == expected
    subscriber.check_cursors()
    for room, room_seqs in seqs.items():
        delivered = [k[3] for k in got if k[0] == "message.created" and k[1] == room]
        assert delivered == sorted(room_seqs), f"room {room} out of seq order"
        assert delivered == list(range(delivered[0], delivered[-1] + 1))
    await subscriber.check_nothing_more()
    assert sum(subscriber.sessions.values()) > 10


async def test_resuming_from_further_back_than_one_catch_up_page_delivers_everything(
    chat: Chat,
):
    sub = await chat.sign_up("sub")
    sender = await chat.sign_up("sender")
    stay = (await sender.create_room("stay", "private"))["id"]
    leave = (await sender.create_room("leave", "public"))["id"]
    for room in (stay, leave):
        await sender.expect(201, "PUT", f"/rooms/{room}/members/{sub.username}")
    start = await chat.head(sub)
    await sub.expect(204, "POST", f"/rooms/{leave}/leave")
    # 600 events after `start`, more than one catch-up page (500); those of the room the
    # subscriber left are read from the log too, and must be filtered out.
    sent: dict[str, list[dict[str, Any]]] = {stay: [], leave: []}

    async def send_many(room: str, count: int) -> None:
        for i in range(count):
            sent[room].append(await sender.send(room, f"{i}"))

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(send_many, stay, 35)
            tg.start_soon(send_many, leave, 25)
    expected = [("member.left", leave, sub.id)] + [
        ("message.created", stay, m["id"], m["seq"], m["text"])
        for m in sorted(sent[stay], key=lambda m: m["seq"])
    ]

    for transport in TRANSPORTS:
        got: list[Key] = []
        async with chat.stream(transport, sub, start) as stream:
            while len(got) < len(expected):
                event = await stream.next_event(5)
                assert event is not None, f"{transport} stalled after {len(got)} events"
                if is_durable(event):
                    got.append(event_key(event))
        assert got == expected, f"{transport}: {explain(got, expected)}"
