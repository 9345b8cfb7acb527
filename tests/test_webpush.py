"""The Web Push helpers without I/O (src/hubbub/webpush.py, services/pushsender.py): keys are
checked precisely, the VAPID token verifies with its key and names the push service's origin,
a payload decrypts with the subscription's key, Topic is short and URL-safe, Retry-After is
read in both its forms."""

from __future__ import annotations

import email.utils
import os

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import jwt

from hubbub.services.pushsender import RETRY_MAX_SECONDS, retry_after
from hubbub.webpush import (
    VapidKey,
    b64url,
    b64url_decode,
    check_keys,
    encrypt,
    generate_private_key,
    topic,
)

NOW = 1_800_000_000.0


def browser() -> tuple[ec.EllipticCurvePrivateKey, str, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return key, b64url(point), os.urandom(16)


def test_a_payload_decrypts_with_the_subscriptions_private_key() -> None:
    key, p256dh, auth = browser()
    body = encrypt(p256dh, b64url(auth), b'{"x": 1}')
    plain = http_ece.decrypt(body, private_key=key, auth_secret=auth, version="aes128gcm")
    assert plain == b'{"x": 1}'


def test_the_vapid_token_is_signed_for_the_push_services_origin() -> None:
    vapid = VapidKey(generate_private_key(), "mailto:ops@example.com")
    header = vapid.authorization("https://push.example.net:8443/wpush/v2/abc", NOW)
    scheme, _, params = header.partition(" ")
    parts = dict(p.split("=", 1) for p in params.split(","))
    assert scheme == "vapid"
    assert parts["k"] == vapid.public_key
    claims = jwt.decode(parts["t"], parts["k"])
    assert claims == {
        "aud": "https://push.example.net:8443",
        "exp": int(NOW) + 12 * 3600,
        "sub": "mailto:ops@example.com",
    }
    assert vapid.authorization("https://push.example.net:8443/other", NOW + 60) == header
    fresh = vapid.authorization("https://push.example.net:8443/x", NOW + 7 * 3600)
    assert fresh != header, "renewed once less than half its life is left"


def test_keys_are_checked_precisely() -> None:
    _, p256dh, auth = browser()
    assert check_keys(p256dh, b64url(auth)) is None
    assert check_keys(p256dh + "=", b64url(auth) + "==") is None, "padding is fine"
    assert check_keys(p256dh[:-4], b64url(auth)) == (
        "keys.p256dh must be an uncompressed P-256 point (65 bytes)"
    )
    assert check_keys("BA" + "A" * 85, b64url(auth)) == "keys.p256dh is not a point on P-256"
    assert check_keys("+" + p256dh[1:], b64url(auth)) == "keys.p256dh must be base64url"
    assert check_keys(p256dh, b64url(os.urandom(15))) == "keys.auth must be 16 bytes"
    assert check_keys(p256dh, "@@@@") == "keys.auth must be base64url"
    with pytest.raises(ValueError, match="not base64url"):
        b64url_decode("a b")


def test_topic_is_32_url_safe_characters_per_room() -> None:
    first = topic("r_abc")
    assert len(first) == 32
    assert all(c.isalnum() or c in "-_" for c in first)
    assert topic("r_abc") == first
    assert topic("r_abd") != first


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after(None, NOW) == 0
    assert retry_after("7", NOW) == 7
    assert retry_after("999999", NOW) == RETRY_MAX_SECONDS
    assert retry_after(email.utils.formatdate(NOW + 30, usegmt=True), NOW) == 30
    assert retry_after(email.utils.formatdate(NOW - 30, usegmt=True), NOW) == 0
    assert retry_after("soon", NOW) == 0
