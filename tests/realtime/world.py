"""The oracle and the driver of the randomized resume test.

The driver makes random (mostly valid, some refused) changes through the REST API and checks
each answer against its own model of users, rooms, roles and messages. The model records, in
the order the sequential driver caused them, the durable events the subscriber is entitled
to: those of rooms it is in at the event's position (after its own join, before its own
leave), those about its own membership, and its own read.updated. It never asks the server
which events anyone should get.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tests.realtime.conftest import Account, Chat

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
    if kind == "thread.updated":
        return (kind, room, data["root_id"], data["thread"]["reply_count"])
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
    thread_root: str | None = None  # a reply in that message's thread
    replies: int = 0  # a root's live replies


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
        # Other forms the event at an index may arrive in: a delete or an edit rewrites the
        # message's earlier events in the log (redaction), so an event read from the log
        # after that shows the rewritten form (docs/architecture.md).
        self.alternatives: dict[int, set[Key]] = {}
        self.recording = False

    def redact(self, message: MessageModel) -> None:
        """Record what the server's redaction makes of the message's earlier events."""
        for i, key in enumerate(self.expected):
            kind = key[0]
            if (
                key[2] != message.id
                or kind == "message.deleted"
                or not kind.startswith(("message.", "reaction.", "thread."))
            ):
                continue
            if kind == "thread.updated" and not message.deleted:
                continue  # an edit leaves the root's thread summaries as they were
            if message.deleted:
                if kind == "message.created":
                    form: Key = (kind, key[1], key[2], key[3], "")
                else:
                    form = ("message.deleted", key[1], key[2])
            elif kind == "message.created":
                form = (kind, key[1], key[2], key[3], message.text)
            elif kind == "message.updated":
                form = (kind, key[1], key[2], message.text)
            else:
                continue
            self.alternatives.setdefault(i, set()).add(form)

    def mismatch(self, got: list[Key]) -> str | None:
        """Why `got` is not the expected stream (an event may be in any form it was redacted
        to), or None if it is."""
        for i, (a, b) in enumerate(zip(got, self.expected, strict=False)):
            if a != b and a not in self.alternatives.get(i, ()):
                return f"first difference at #{i}: got {a}, expected {b}"
        if len(got) != len(self.expected):
            return f"got {len(got)} events, expected {len(self.expected)}"
        return None

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
            (6, self.thread_reply),
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

    async def thread_reply(self) -> bool:
        rooms = self.world.rooms
        root = self.pick(m for m in self.alive() if m.thread_root is None and rooms[m.room].roles)
        if root is None:
            return False
        room = rooms[root.room]
        author = self.users[self.pick(room.roles)]
        text = self.text()
        r = await author.post(f"/rooms/{room.id}/messages", {"text": text, "thread_root": root.id})
        assert r.status_code == 201, r.text
        sent = r.json()
        assert sent["seq"] == room.last_seq + 1
        self.world.created(
            MessageModel(sent["id"], room.id, sent["seq"], author.id, text, thread_root=root.id)
        )
        root.replies += 1
        self.world.emit(("thread.updated", room.id, root.id, root.replies))
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
        self.world.redact(message)
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
            self.world.redact(message)
            if message.thread_root is not None:  # the root's new summary comes first
                root = next(m for m in self.world.messages if m.id == message.thread_root)
                root.replies -= 1
                self.world.emit(("thread.updated", room.id, root.id, root.replies))
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
