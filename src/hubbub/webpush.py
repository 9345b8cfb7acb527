"""The Web Push protocol's crypto (#18), from the standard libraries, none hand-rolled:

- the payload is encrypted for one subscription with `aes128gcm` (RFC 8291 over RFC 8188),
  by pywebpush's `WebPusher.encode` (which uses http-ece);
- the request is signed with the server's VAPID key (RFC 8292), by py-vapid: an ES256 JWT
  whose `aud` is the push service's origin, `exp` within 24 hours, `sub` a contact.

Nothing here does I/O: sending is services/push.py's business, through hubbub.outbound
(pywebpush's own senders, which would go around the SSRF guard, are never called). Both
operations are CPU work of a fraction of a millisecond (an ECDH and an ECDSA on P-256).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

__all__ = [
    "AUTH_BYTES",
    "VapidKey",
    "b64url",
    "b64url_decode",
    "check_keys",
    "encrypt",
    "generate_private_key",
    "origin",
    "topic",
]

AUTH_BYTES = 16  # RFC 8291: the authentication secret
POINT_BYTES = 65  # an uncompressed P-256 point: 0x04, x, y
JWT_SECONDS = 12 * 3600  # a VAPID token's life (RFC 8292 allows at most 24 h)
TOPIC_CHARS = 32  # RFC 8030 5.4: at most 32 characters of the base64url alphabet


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(text: str) -> bytes:
    """base64url with or without padding; ValueError for anything else (the standard
    alphabet's + and / included)."""
    if not text.isascii() or any(c in text for c in "+/ \t\r\n"):
        raise ValueError("not base64url")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None


def check_keys(p256dh: str, auth: str) -> str | None:
    """Why a subscription's keys are unusable (the field name and the reason), or None: the
    public key must be an uncompressed point on P-256 and the secret 16 bytes, both base64url."""
    try:
        point = b64url_decode(p256dh)
    except ValueError:
        return "keys.p256dh must be base64url"
    if len(point) != POINT_BYTES or point[0] != 4:
        return "keys.p256dh must be an uncompressed P-256 point (65 bytes)"
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        return "keys.p256dh is not a point on P-256"
    try:
        secret = b64url_decode(auth)
    except ValueError:
        return "keys.auth must be base64url"
    if len(secret) != AUTH_BYTES:
        return "keys.auth must be 16 bytes"
    return None


def generate_private_key() -> str:
    """A new VAPID private key: a P-256 scalar, 32 bytes, base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def origin(url: str) -> str:
    """scheme://host[:port] of a URL (the VAPID `aud`)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def topic(room_id: str) -> str:
    """The Topic header of a room's pushes (RFC 8030 5.4): a newer push for the room replaces
    an older one the push service still holds. 32 base64url characters of a hash, so the
    room id itself is not shown to the push service."""
    return b64url(hashlib.sha256(room_id.encode()).digest())[:TOPIC_CHARS]


def encrypt(p256dh: str, auth: str, data: bytes) -> bytes:
    """`data` encrypted for the subscription with these keys (aes128gcm, RFC 8291): the body
    of the push request."""
    # Imported on the first push: pywebpush imports aiohttp and requests (~0.2 s and ~10 MB
    # on every start, for a server that may never send one).
    from pywebpush import WebPusher

    pusher = WebPusher(
        {"endpoint": "https://push.invalid/", "keys": {"p256dh": p256dh, "auth": auth}}
    )
    body = pusher.encode(data, content_encoding="aes128gcm")["body"]
    assert isinstance(body, bytes)
    return body


class VapidKey:
    """The server's VAPID key pair, with the signed tokens cached per push service (each is
    good for JWT_SECONDS; a new one is made when less than half of that is left)."""

    def __init__(self, private_key: str, contact: str) -> None:
        self._vapid = Vapid02.from_raw(private_key.encode("ascii"))
        # py-vapid's own check of `sub` would refuse an https URL with a port: ours is
        # config.py's (mailto: or https:).
        self._vapid.conf["no-strict"] = True
        self.contact = contact
        raw = self._vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.public_key = b64url(raw)  # what browsers take as applicationServerKey
        self._tokens: dict[str, tuple[int, str]] = {}

    def authorization(self, endpoint: str, now_s: float) -> str:
        """The `Authorization: vapid t=...,k=...` value for a push to `endpoint`, at `now_s`
        (seconds since the epoch, from the app's clock)."""
        now = int(now_s)
        aud = origin(endpoint)
        cached = self._tokens.get(aud)
        if cached is not None and cached[0] - now > JWT_SECONDS // 2:
            return cached[1]
        exp = now + JWT_SECONDS
        header = self._vapid.sign({"aud": aud, "exp": exp, "sub": self.contact})["Authorization"]
        assert isinstance(header, str)
        if len(self._tokens) > 1000:  # push services are a handful; never grow without end
            self._tokens.clear()
        self._tokens[aud] = (exp, header)
        return header
