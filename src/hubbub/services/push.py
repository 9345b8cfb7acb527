"""Web Push (#18): the server's VAPID key, browsers' push subscriptions, and the `push` log
consumer that queues a push for each subscription of each user a message notifies.

- The VAPID key pair is made at the first start and kept in `meta` (the first node to store
  one wins, so every node signs with the same key); browsers get its public half to
  subscribe with (GET /api/v1/push/vapid-public-key).
- A subscription belongs to the session that made it and goes when the session ends (the
  database cascades the delete of the session to it, and to its queued pushes). At most
  MAX_SUBSCRIPTIONS per user (409 too_many_push_subscriptions).
- Endpoints are https:// URLs (http:// only with HUBBUB_OUTBOUND_ALLOW_PRIVATE, for local
  tests). An endpoint whose host is an IP address hubbub may not call (the SSRF guard's
  rule) is refused at once (422); a host *name* is checked when a push is sent, on the
  address it resolves to then (outbound.py), since what a name resolves to can change.
- The consumer's handler asks, for each `message.created` of a page, who the message
  notifies (services/notifications.py) and returns the queue rows to insert, one per
  (message, subscription), which the consumer commits with its new place: exactly once.
  Sending them is services/pushsender.py's.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from hubbub.config import Settings
from hubbub.errors import Invalid, PushSubscriptionNotFound, TooManyPushSubscriptions
from hubbub.events import Event, MessageCreated
from hubbub.ids import new_id
from hubbub.models import PushSubscription, User
from hubbub.outbound import address_allowed
from hubbub.services.notifications import NotificationService
from hubbub.services.ratelimits import RateLimits
from hubbub.services.sessions import Session
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import push as push_q
from hubbub.webpush import VapidKey, check_keys, generate_private_key

__all__ = ["ENDPOINT_MAX", "KEY_MAX", "MAX_SUBSCRIPTIONS", "PushService", "check_endpoint"]

MAX_SUBSCRIPTIONS = 20  # per user: a browser each, on every device they use
ENDPOINT_MAX = 2048
KEY_MAX = 128  # characters of keys.p256dh / keys.auth (87 and 22 in base64url)


def check_endpoint(endpoint: str, *, allow_private: bool) -> None:
    """Invalid unless `endpoint` is a URL hubbub could push to (see the module's doc)."""
    field_name = "endpoint"
    if len(endpoint) > ENDPOINT_MAX:
        raise Invalid(f"endpoint is longer than {ENDPOINT_MAX} characters", field=field_name)
    if not endpoint.isascii() or any(c.isspace() or ord(c) < 32 for c in endpoint):
        raise Invalid("endpoint must be a URL without spaces", field=field_name)
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        raise Invalid("endpoint is not a valid URL", field=field_name) from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise Invalid("endpoint must be an https:// URL", field=field_name)
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise Invalid("endpoint must name a host (and no user or password)", field=field_name)
    if parts.fragment or port == 0:
        raise Invalid("endpoint must be a push service's URL", field=field_name)
    try:
        ip = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return  # a name: checked on the address it resolves to, when sending
    if not address_allowed(str(ip), allow_private=allow_private):
        raise Invalid("endpoint is an address hubbub may not call", field=field_name)


@dataclass(slots=True)
class _KeyHolder:
    key: VapidKey | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(frozen=True, slots=True)
class PushService:
    uow: UnitOfWork
    settings: Settings
    limits: RateLimits
    notifications: NotificationService
    _keys: _KeyHolder = field(default_factory=_KeyHolder)

    @property
    def contact(self) -> str:
        return self.settings.push_contact or self.settings.base_url

    async def vapid(self) -> VapidKey:
        """The deployment's VAPID key, made and stored by the first node that needs one."""
        if self._keys.key is not None:
            return self._keys.key
        async with self._keys.lock:
            if self._keys.key is None:
                made = generate_private_key()

                def fn(tx: Tx, outbox: Outbox) -> str:
                    push_q.insert_meta(tx, push_q.VAPID_KEY, made)
                    stored = push_q.find_meta(tx, push_q.VAPID_KEY)
                    assert stored is not None
                    return stored

                private = await self.uow.write(fn)
                self._keys.key = VapidKey(private, self.contact)
            return self._keys.key

    async def public_key(self) -> str:
        """The VAPID public key, base64url (an uncompressed P-256 point), for
        `pushManager.subscribe({applicationServerKey})`."""
        return (await self.vapid()).public_key

    async def subscribe(
        self, session: Session, endpoint: str, p256dh: str, auth: str
    ) -> PushSubscription:
        """Store the browser's subscription for this session (Invalid for a bad endpoint or
        keys; TooManyPushSubscriptions past MAX_SUBSCRIPTIONS). The same endpoint again
        takes the new keys and this session, and keeps its id."""
        check_endpoint(endpoint, allow_private=self.settings.outbound_allow_private)
        for name, value in (("keys.p256dh", p256dh), ("keys.auth", auth)):
            if len(value) > KEY_MAX:
                raise Invalid(f"{name} is longer than {KEY_MAX} characters", field=name)
        problem = check_keys(p256dh, auth)
        if problem is not None:
            raise Invalid(problem, field=problem.split(" ", 1)[0])
        me = session.user
        await self.limits.hit("push_subscriptions", me.id)
        clean_key, clean_auth = p256dh.rstrip("="), auth.rstrip("=")

        def fn(tx: Tx, outbox: Outbox) -> PushSubscription:
            known = push_q.has_subscription(tx, me.id, endpoint)
            if not known and push_q.count_subscriptions(tx, me.id) >= MAX_SUBSCRIPTIONS:
                raise TooManyPushSubscriptions(
                    f"At most {MAX_SUBSCRIPTIONS} push subscriptions per account: delete one"
                )
            sub = PushSubscription(
                new_id("ps", outbox.now_ms),
                me.id,
                session.id,
                endpoint,
                clean_key,
                clean_auth,
                outbox.now_ms,
            )
            return push_q.upsert_subscription(tx, sub)

        return await self.uow.write(fn)

    async def list_subscriptions(self, me: User) -> list[PushSubscription]:
        """My subscriptions (every session's), oldest first."""
        return await self.uow.read(lambda tx: push_q.list_subscriptions(tx, me.id))

    async def delete(self, me: User, subscription_id: str) -> None:
        """Delete one of my subscriptions (and its queued pushes); 404 for any other."""

        def fn(tx: Tx, outbox: Outbox) -> None:
            if not push_q.delete_subscription(tx, subscription_id, me.id):
                raise PushSubscriptionNotFound(f"No push subscription {subscription_id!r}")

        await self.uow.write(fn)

    async def handle(self, events: list[Event]) -> Callable[[Tx], None] | None:
        """The `push` consumer's handler: the queue rows for a page of the log (one per
        subscription of each user a new message notifies, due at once: the sender decides
        when it is time). One read for the page; nothing for a page without messages or a
        message that notifies nobody."""
        created = {e.body.message.id: e.ts for e in events if isinstance(e.body, MessageCreated)}
        if not created:
            return None
        found = await self.notifications.recipients_many(list(created))
        rows = [(mid, r.user_id, r.reason, created[mid]) for mid, rs in found.items() for r in rs]
        if not rows:
            return None
        due = self.uow.clock.now_ms()

        def enqueue(tx: Tx) -> None:
            push_q.enqueue(tx, rows, due)

        return enqueue
