"""Signed, expiring links to files: what lets an `<img src>` (which sends no Authorization
header) fetch an attachment, and nobody else.

A link is `/api/v1/files/{id}/{filename}?exp=<unix seconds>&sig=<hex>` (thumbnails:
`/api/v1/thumbnails/{id}?...`), where `sig` is an HMAC-SHA256, under the deployment's files
key, of what the link opens and when it stops working. Expiry times are rounded up to a
quarter of the lifetime, so a file's link stays the same for a while and browsers can cache
it. The key is made at the first migration and kept in the database (`meta`), so every node
of a cluster signs and checks with the same one.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from enum import Enum
from urllib.parse import quote

from hubbub.clock import Clock

__all__ = ["FileLinks", "Verdict", "thumbnail_path"]

PREFIX = "/api/v1"


class Verdict(Enum):
    OK = "ok"
    EXPIRED = "expired"  # genuine, but too old: 403 link_expired
    FORGED = "forged"  # not a signature of ours (or of another file): 404


def thumbnail_path(file_id: str) -> str:
    return f"{PREFIX}/thumbnails/{quote(file_id, safe='')}"


def file_path(file_id: str, filename: str) -> str:
    return f"{PREFIX}/files/{quote(file_id, safe='')}/{quote(filename, safe='')}"


@dataclass(frozen=True, slots=True)
class FileLinks:
    key: bytes
    clock: Clock
    lifetime_seconds: int = 3600

    def _sig(self, kind: str, file_id: str, exp: int) -> str:
        message = f"{kind}\n{file_id}\n{exp}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def _expiry(self) -> int:
        step = max(1, self.lifetime_seconds // 4)
        now = self.clock.now_ms() / 1000
        return math.ceil((now + self.lifetime_seconds) / step) * step

    def file_url(self, file_id: str, filename: str) -> str:
        exp = self._expiry()
        return f"{file_path(file_id, filename)}?exp={exp}&sig={self._sig('file', file_id, exp)}"

    def thumbnail_url(self, file_id: str) -> str:
        exp = self._expiry()
        return f"{thumbnail_path(file_id)}?exp={exp}&sig={self._sig('thumb', file_id, exp)}"

    def verify(self, kind: str, file_id: str, exp: str, sig: str) -> Verdict:
        """Whether `sig` signs (kind, file_id, exp), and whether that is still valid."""
        if not exp.isascii() or not exp.isdigit() or len(exp) > 12:
            return Verdict.FORGED
        if not hmac.compare_digest(self._sig(kind, file_id, int(exp)), sig):
            return Verdict.FORGED
        if int(exp) * 1000 <= self.clock.now_ms():
            return Verdict.EXPIRED
        return Verdict.OK
