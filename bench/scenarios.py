"""The benchmark scenarios: make bench's names and what each is compared with; the sizes (full
and --quick) and shapes (subscribers per room, the room of each message, the rate) of the
real-time ones, which bench/realtime.py runs too.
"""

from __future__ import annotations

from dataclasses import dataclass

SERVERS = ("bare", "hubbub")  # bench/realtime.py's: the ceiling, then hubbub
REALTIME_SCENARIOS = ("fanout", "rooms", "latency", "idle", "connections")
# send-mentions: each message mentions 5 members; send-thread: each is a reply in one thread.
SEND_VARIANTS = ("send-mentions", "send-thread")
WRK_SCENARIOS = ("classic-post", "classic-read", "send", *SEND_VARIANTS, "history")
FILE_SCENARIOS = ("upload", "download")  # bench/transfers.py: both from one server
SCENARIOS = (  # make bench's, in report order
    *WRK_SCENARIOS,
    *REALTIME_SCENARIOS,
    "redis-hop",
    *FILE_SCENARIOS,
)
# bench/workers.py: --workers 1 against --workers 2 (only when named: not part of `all`),
# reported as two rows.
WORKER_SCENARIOS = ("workers-send", "workers-fanout")
REPORTED = (*SCENARIOS, *WORKER_SCENARIOS)
CEILING_NOTE = {
    "classic-post": "bare_asgi.py POST",
    "classic-read": "bare_asgi.py GET",
    "send": "bare_asgi.py POST (the nearest trivial thing: no auth, no database)",
    "send-mentions": "bare_asgi.py POST (compare with send: the cost of 5 @mentions)",
    "send-thread": "bare_asgi.py POST (compare with send: the cost of a thread reply)",
    "history": "bare_asgi.py GET (the nearest trivial thing: a fixed body)",
    "fanout": "bare_ws.py broadcast",
    "rooms": "bare_ws.py broadcast",
    "latency": "bare_ws.py broadcast",
    "idle": "bare_ws.py broadcast (one subscriber, a message every 50 ms: latency, not load)",
    "connections": "bare_ws.py idle WebSockets",
    "redis-hop": "the same scenario with subscribers on the sending node (same-node)",
    "upload": "dd copying the same bytes into the files directory (conv=fsync)",
    "download": "dd reading the stored bytes to /dev/null",
    "workers-send": "bare_asgi.py POST; ratio: 2 workers / 1 worker (servers unpinned)",
    "workers-fanout": "bare_ws.py broadcast; ratio: 2 workers / 1 worker (servers unpinned)",
}


@dataclass(frozen=True, slots=True)
class Params:
    runs: int
    fanout_subscribers: int
    fanout_messages: int
    fanout_rate: float
    rooms: int
    room_subscribers: int
    rooms_messages: int
    rooms_rate: float
    latency_subscribers: int
    latency_rate: float
    latency_seconds: float
    connections: int
    connection_room_size: int
    drain_timeout: float  # seconds without a delivery before a run gives up waiting
    settle: float  # seconds to let the server settle before reading its RSS
    shared_servers: bool = False  # one pair of servers for all scenarios (fast, less clean)
    file_size_mb: int = 200  # upload / download: each file's size
    file_count: int = 3
    chat_seconds: float = 3.0  # the chat load alone, before the uploads (its p99's baseline)
    idle_rate: float = 20.0  # idle: messages/s to one subscriber (a quiet room)
    idle_seconds: float = 15.0


FULL = Params(
    runs=3,
    fanout_subscribers=1000,
    fanout_messages=200,
    fanout_rate=200.0,
    rooms=100,
    room_subscribers=10,
    rooms_messages=2000,
    rooms_rate=500.0,
    latency_subscribers=100,
    latency_rate=500.0,
    latency_seconds=5.0,
    connections=10_000,
    connection_room_size=10,
    drain_timeout=10.0,
    settle=2.0,
)
QUICK = Params(
    runs=1,
    fanout_subscribers=20,
    fanout_messages=20,
    fanout_rate=100.0,
    rooms=5,
    room_subscribers=4,
    rooms_messages=40,
    rooms_rate=100.0,
    latency_subscribers=20,
    latency_rate=100.0,
    latency_seconds=0.5,
    connections=200,
    connection_room_size=10,
    drain_timeout=3.0,
    settle=0.2,
    shared_servers=True,
    file_size_mb=16,
    file_count=2,
    chat_seconds=0.5,
    idle_seconds=1.0,
)


def scenario_shape(name: str, p: Params) -> tuple[list[int], list[int], float]:
    """(subscribers per room, room of each message, rate) for a message scenario."""
    if name == "fanout":
        return [p.fanout_subscribers], [0] * p.fanout_messages, p.fanout_rate
    if name == "rooms":
        return (
            [p.room_subscribers] * p.rooms,
            [k % p.rooms for k in range(p.rooms_messages)],
            (p.rooms_rate),
        )
    if name == "idle":
        count = max(1, round(p.idle_rate * p.idle_seconds))
        return [1], [0] * count, p.idle_rate
    count = max(1, round(p.latency_rate * p.latency_seconds))
    return [p.latency_subscribers], [0] * count, p.latency_rate
