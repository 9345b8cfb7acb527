"""The event catalogue (hubbub.events), the wire shapes (hubbub.wire), the published schema
(components.schemas.Event) and docs/api.md's event table describe the same events."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from hubbub.events import (
    DURABLE_TYPES,
    EPHEMERAL_TYPES,
    CommandReply,
    DurableEvent,
    Ephemeral,
    EphemeralEvent,
    Event,
    MemberJoined,
    MemberLeft,
    MemberUpdated,
    MessageCreated,
    MessageDeleted,
    MessagePinned,
    MessageUnpinned,
    MessageUpdated,
    NotificationsUpdated,
    Presence,
    ReactionAdded,
    ReactionRemoved,
    ReadUpdated,
    RoomCreated,
    RoomUpdated,
    SessionsRevoked,
    ThreadRead,
    ThreadUpdated,
    Typing,
    UserUpdated,
    decode,
    encode,
)
from hubbub.models import Author, Mentions, Message, ReactionCount, Room, ThreadSummary, User
from hubbub.realtime.frames import (
    PING,
    RESET,
    SESSION_ENDED,
    SLOW_CONSUMER,
    TOO_MANY_STREAMS,
    ephemeral_frame,
    event_frame,
)
from hubbub.realtime.frames import hello_frame as make_hello
from hubbub.web.event_schemas import CONTROL_TYPES
from tests.event_schema import check_frame, openapi_document

API_MD = Path(__file__).resolve().parents[1] / "docs" / "api.md"

ALICE = User("u_alice", "alice", "Alice Liddell", 1_700_000_000_123, is_admin=True)
ROOM = Room("r_1", "plans", "a topic", "public", "room", 1_700_000_000_000, 3, 42)
MESSAGE = Message(
    "m_1",
    "r_1",
    7,
    Author("u_alice", "alice", "Alice Liddell", guest=False),
    "hello, café ☕",
    1_700_000_000_456,
    1_700_000_000_789,
    False,
    "m_0",
    (ReactionCount("👍", 2, True),),
    Mentions(("u_bob",), room=True, here=False),
    thread_root=None,
    also_to_room=False,
    thread=ThreadSummary(3, 1_700_000_009_000, (ALICE,)),
    pinned_at=1_700_000_009_500,
)
SAMPLES: dict[str, DurableEvent | EphemeralEvent] = {
    "message.created": MessageCreated(MESSAGE),
    "message.updated": MessageUpdated(
        "m_1", "r_1", 7, "edited @bob", 1_700_000_001_000, Mentions(("u_bob",))
    ),
    "message.deleted": MessageDeleted("m_1", "r_1", 7),
    "reaction.added": ReactionAdded("m_1", "r_1", 7, "👍", "u_alice", "alice"),
    "reaction.removed": ReactionRemoved("m_1", "r_1", 7, "👍", "u_alice", "alice"),
    "room.updated": RoomUpdated(ROOM),
    "member.joined": MemberJoined(ROOM, ALICE, "owner"),
    "member.left": MemberLeft("r_1", ALICE, "banned"),
    "member.updated": MemberUpdated("r_1", ALICE, "admin", muted=True),
    "read.updated": ReadUpdated("r_1", "u_alice", 7, 3, 1),
    "notifications.updated": NotificationsUpdated("r_1", "u_alice", "all", 1_700_000_004_000),
    "thread.updated": ThreadUpdated("m_1", "r_1", 7, ThreadSummary(2, 1_700_000_002_000, (ALICE,))),
    "thread.read": ThreadRead("m_1", "r_1", "u_alice", 9, 1),
    "message.pinned": MessagePinned("m_1", "r_1", 7, 1_700_000_003_000, ALICE),
    "message.unpinned": MessageUnpinned("m_1", "r_1", 7),
    "typing": Typing("r_1", "u_alice", "alice", 1_700_000_006_000),
    "presence": Presence("u_alice", "alice", True),
    "command.reply": CommandReply("r_1", "u_alice", "/weather", "Sunny, 21°C"),
    "session.revoked": SessionsRevoked("u_alice", ("s_1", "s_2")),
    "room.created": RoomCreated(ROOM),
    "user.updated": UserUpdated(ALICE),
}


def frame_of(body: DurableEvent | EphemeralEvent) -> dict[str, Any]:
    if isinstance(body, Typing | Presence | CommandReply):
        frame = ephemeral_frame(Ephemeral(1_700_000_000_000, body, ("r_1",)))
    else:
        frame = event_frame(Event(12, 1_700_000_000_000, body), "dep")
    return dict(orjson.loads(frame.json))


def schema_types() -> set[str]:
    event = openapi_document()["components"]["schemas"]["Event"]
    return set(event["discriminator"]["mapping"])


def documented_types() -> set[str]:
    """The backticked names in the first column of docs/api.md's event-types table."""
    text = API_MD.read_text()
    lines = text[text.index("### Event types") :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| type |"))
    found = set()
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        found.update(re.findall(r"`([a-z_.]+)`", line.split("|")[1]))
    return found


def test_the_schema_covers_the_catalogue_and_the_control_frames_exactly() -> None:
    catalogue = set(DURABLE_TYPES) | set(EPHEMERAL_TYPES)
    assert set(SAMPLES) == catalogue, "every event type needs a sample here"
    assert schema_types() == catalogue | CONTROL_TYPES


def test_docs_event_table_lists_exactly_the_schema_types() -> None:
    assert documented_types() == schema_types()


@pytest.mark.parametrize("type_name", sorted(SAMPLES))
def test_every_event_type_frames_to_a_valid_frame_and_round_trips(type_name: str) -> None:
    body = SAMPLES[type_name]
    frame = frame_of(body)
    check_frame(frame)
    assert frame["type"] == type_name
    payload = encode(body)
    assert payload["v"] == 1
    assert decode(type_name, orjson.loads(orjson.dumps(payload))) == body


@pytest.mark.parametrize("type_name", sorted(SAMPLES))
def test_a_frame_missing_a_data_field_does_not_validate(type_name: str) -> None:
    frame = frame_of(SAMPLES[type_name])
    for field in list(frame["data"]):
        broken = {**frame, "data": {k: v for k, v in frame["data"].items() if k != field}}
        with pytest.raises(AssertionError, match="required property"):
            check_frame(broken)


def test_control_frames_validate() -> None:
    for frame in (make_hello("dep-3"), PING, RESET, SLOW_CONSUMER, SESSION_ENDED, TOO_MANY_STREAMS):
        check_frame(orjson.loads(frame.json))


def test_an_unknown_version_is_refused_not_misread() -> None:
    payload = {**encode(SAMPLES["message.deleted"]), "v": 2}
    with pytest.raises(ValueError, match="version"):
        decode("message.deleted", payload)
    with pytest.raises(ValueError, match="unknown event type"):
        decode("message.exploded", {"v": 1})


def test_a_payload_from_before_an_optional_field_decodes_with_its_default() -> None:
    """0.1.0 wrote member.left without `how` and users without `is_admin`: fields added since
    are optional, so those rows still decode (and keep VERSION)."""
    old = {
        "v": 1,
        "room_id": "r_1",
        "user": {"id": "u_1", "username": "a", "display_name": "A", "created_at": 1},
    }
    body = decode("member.left", old)
    assert body == MemberLeft("r_1", User("u_1", "a", "A", 1), "left")
