"""The bearer-token cache: token hash -> (session id, User, last use), so an authenticated
request does not read the database (#21).

What keeps it honest: every write that ends a session commits `session.revoked`, and every
write that changes what a User holds commits `user.updated` (or ends the user's sessions).
The node that commits such an event forgets the entries it names before its request answers
(the unit of work calls `on_events` right after the commit); every other node forgets them
when its hub dispatches the event (from the bus, or from its poll of the log). A fill that
raced an invalidation is dropped (`generation`). As a backstop against a lost announcement,
an entry is trusted for at most MAX_AGE_MS after it was read from the database.

Event-loop only: no locks (nothing here awaits).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from hubbub.clock import Clock
from hubbub.events import Event, SessionsRevoked, UserUpdated
from hubbub.models import User

__all__ = ["MAX_AGE_MS", "MAX_ENTRIES", "AuthCache", "CachedSession"]

MAX_ENTRIES = 10_000  # least recently used first out; ~1 KB each
MAX_AGE_MS = 15_000  # an entry is re-read from the database at least this often


@dataclass(slots=True)
class CachedSession:
    session_id: str
    user: User
    last_used: int  # ms; advanced when this node notes a use
    read_at: int  # ms: when it was read from the database


class AuthCache:
    def __init__(
        self, clock: Clock, max_entries: int = MAX_ENTRIES, max_age_ms: int = MAX_AGE_MS
    ) -> None:
        self.clock = clock
        self.max_entries = max_entries
        self.max_age_ms = max_age_ms
        self._entries: OrderedDict[str, CachedSession] = OrderedDict()
        self._by_session: dict[str, str] = {}  # session id -> token hash
        self._by_user: dict[str, set[str]] = {}  # user id -> token hashes
        # Bumped by every invalidation: a fill read before one may be stale, so it is dropped.
        self.generation = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def find(self, token_hash: str) -> CachedSession | None:
        """The entry of a token, if cached and younger than max_age_ms (counts a hit or miss)."""
        entry = self._entries.get(token_hash)
        if entry is not None and self.clock.now_ms() - entry.read_at > self.max_age_ms:
            self._drop(token_hash)
            entry = None
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(token_hash)
        self.hits += 1
        return entry

    def remember(
        self,
        token_hash: str,
        session_id: str,
        user: User,
        last_used: int,
        *,
        read_at: int,
        generation: int,
    ) -> None:
        """Cache what the database said at `read_at`; ignored if anything was invalidated
        since `generation` was read (before the database read), as it may be stale."""
        if generation != self.generation or self.max_entries <= 0:
            return
        self._drop(token_hash)
        self._entries[token_hash] = CachedSession(session_id, user, last_used, read_at)
        self._by_session[session_id] = token_hash
        self._by_user.setdefault(user.id, set()).add(token_hash)
        while len(self._entries) > self.max_entries:
            self._drop(next(iter(self._entries)))

    def note_use(self, token_hash: str, session_id: str, used_at: int) -> None:
        """The session's use at `used_at` was written to the database: its entry (if still
        cached) follows."""
        entry = self._entries.get(token_hash)
        if entry is not None and entry.session_id == session_id:
            entry.last_used = max(entry.last_used, used_at)

    def on_events(self, events: Iterable[Event]) -> None:
        """Forget what committed events make stale: ended sessions, changed users."""
        for event in events:
            body = event.body
            if isinstance(body, SessionsRevoked):
                self.forget_sessions(body.session_ids)
            elif isinstance(body, UserUpdated):
                self.forget_user(body.user.id)

    def on_event(self, event: Event) -> None:
        self.on_events((event,))

    def forget_sessions(self, session_ids: Iterable[str]) -> None:
        self.generation += 1
        for session_id in session_ids:
            token_hash = self._by_session.get(session_id)
            if token_hash is not None:
                self._drop(token_hash)

    def forget_user(self, user_id: str) -> None:
        self.generation += 1
        for token_hash in list(self._by_user.get(user_id, ())):
            self._drop(token_hash)

    def _drop(self, token_hash: str) -> None:
        entry = self._entries.pop(token_hash, None)
        if entry is None:
            return
        self._by_session.pop(entry.session_id, None)
        hashes = self._by_user.get(entry.user.id)
        if hashes is not None:
            hashes.discard(token_hash)
            if not hashes:
                del self._by_user[entry.user.id]
