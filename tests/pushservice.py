"""A push service on 127.0.0.1 for tests: the receiving side of Web Push.

- RFC 8030: `POST /push/<token>` with an encrypted body and `TTL` answers 201 with a
  Location; a token it does not know answers 404.
- RFC 8292: the `Authorization: vapid t=<JWT>,k=<key>` header is checked: `k` is the
  applicationServerKey the subscription was made with, `t` an ES256 JWT signed by it whose
  `aud` is this service's origin, whose `exp` is in the future and at most 24 hours away, and
  which has a `sub` (mailto: or https:). A failed check answers 403 and is recorded.
- RFC 8291: the body (`Content-Encoding: aes128gcm`) is decrypted with the subscription's
  private key and authentication secret, which the test made as a browser would, and the
  JSON inside is recorded with the request's headers.

A test can script answers per subscription (`answers`: e.g. [429, 503], then 201s) or make
one gone (410). Time for `exp` comes from `now_s` (the app's clock, fake or not).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import http_ece
import orjson
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import jwt

from hubbub.webpush import b64url, b64url_decode

__all__ = ["Push", "PushService", "Subscription"]

DAY_S = 24 * 3600


@dataclass
class Subscription:
    """What a browser holds for one subscription: its key pair and secret."""

    token: str
    endpoint: str
    server_key: str  # the applicationServerKey it was made with
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    answers: list[int] = field(default_factory=list)  # scripted statuses, first to last
    gone: bool = False

    @property
    def p256dh(self) -> str:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(raw)

    def json(self) -> dict[str, Any]:
        """The PushSubscription JSON a browser would post."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)},
        }


@dataclass(frozen=True)
class Push:
    token: str
    headers: dict[str, str]
    payload: dict[str, Any]
    claims: dict[str, Any]


class PushService:
    def __init__(self, now_s: Callable[[], float] = time.time) -> None:
        self.now_s = now_s
        self.subs: dict[str, Subscription] = {}
        self.pushes: list[Push] = []
        self.answered: list[tuple[str, int]] = []  # every request: token and status
        self.refusals: list[str] = []  # why a request was refused (403)
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/push/{token}", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server  # the bound port (aiohttp has no public accessor for port 0)
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def subscribe(self, server_key: str, host: str | None = None) -> Subscription:
        """A new subscription, as a browser's pushManager.subscribe would make one."""
        token = secrets.token_urlsafe(16)
        sub = Subscription(
            token=token,
            endpoint=f"http://{host or '127.0.0.1'}:{self.port}/push/{token}",
            server_key=server_key,
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth=os.urandom(16),
        )
        self.subs[token] = sub
        return sub

    def received(self, sub: Subscription) -> list[Push]:
        return [p for p in self.pushes if p.token == sub.token]

    async def wait_for(self, count: int, within: float = 10.0) -> list[Push]:
        """Wait (real time) until `count` pushes have arrived; fail after `within` s."""
        with anyio.fail_after(within):
            while len(self.pushes) < count:  # noqa: ASYNC110 - another task's server
                await anyio.sleep(0.02)
        return list(self.pushes)

    async def _receive(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        sub = self.subs.get(token)
        if sub is None or sub.gone:
            self.answered.append((token, 410 if sub else 404))
            return web.Response(status=410 if sub else 404)
        if sub.answers:
            status = sub.answers.pop(0)
            self.answered.append((token, status))
            headers = {"Retry-After": "1"} if status == 429 else {}
            return web.Response(status=status, headers=headers)
        body = await request.read()
        try:
            claims = self._check(request, sub)
            if request.headers.get("Content-Encoding") != "aes128gcm":
                raise ValueError("Content-Encoding must be aes128gcm")
            if not request.headers.get("TTL", "").isdigit():
                raise ValueError("TTL missing")
            plain = http_ece.decrypt(
                body, private_key=sub.private_key, auth_secret=sub.auth, version="aes128gcm"
            )
        except Exception as exc:
            self.refusals.append(f"{type(exc).__name__}: {exc}")
            self.answered.append((token, 403))
            return web.Response(status=403, text=str(exc))
        self.pushes.append(Push(token, dict(request.headers), orjson.loads(plain), claims))
        self.answered.append((token, 201))
        return web.Response(status=201, headers={"Location": f"{self.origin}/m/{len(self.pushes)}"})

    def _check(self, request: web.Request, sub: Subscription) -> dict[str, Any]:
        """RFC 8292: the VAPID header, its key and its JWT's claims; the claims if good."""
        scheme, _, params = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError("Authorization is not vapid")
        parts = dict(p.strip().split("=", 1) for p in params.split(","))
        if parts.get("k") != sub.server_key:
            raise ValueError("k is not the key the subscription was made with")
        b64url_decode(parts["k"])
        claims: dict[str, Any] = jwt.decode(parts["t"], parts["k"])  # ES256, or InvalidSignature
        header = orjson.loads(b64url_decode(parts["t"].split(".")[0]))
        if header.get("alg") != "ES256":
            raise ValueError("alg must be ES256")
        if claims.get("aud") != self.origin:
            raise ValueError(f"aud {claims.get('aud')!r} is not {self.origin}")
        exp = float(claims["exp"])
        now = self.now_s()
        if not now < exp <= now + DAY_S:
            raise ValueError(f"exp {exp} not within 24 h of {now}")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https://")):
            raise ValueError("sub missing")
        return claims
