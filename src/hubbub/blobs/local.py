"""Files in a local directory, content-addressed: identical bytes are stored once.

Layout under the root:

    blobs/ab/<sha256>     the content, one inode per distinct content
    objects/<key>         a hard link to its content's blob (what reads open)
    tmp/                  spools and half-written files (never under a real name)

The reference count is the inode's link count: `put_file` links the content's blob (made by
linking the spooled file, which fails if that content is already stored) to `objects/<key>`
through a temporary name and a rename, so a crash leaves at worst a stray file in tmp/.
`delete` unlinks the object and then the blob once no object links it. Readers always open
`objects/<key>`, so even a delete racing a put of the same content cannot lose bytes: the
object keeps its inode when the blob's name goes.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

import anyio

from hubbub.blobs.base import CHUNK, NotStored, Spooled, spool

__all__ = ["LocalStorage", "key_ok"]

STALE_TMP_SECONDS = 24 * 3600
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV}


def key_ok(key: str) -> bool:
    """Keys are file names: letters, digits and `-_.`, not starting with a dot."""
    return (
        0 < len(key) <= 200
        and not key.startswith(".")
        and all(c.isascii() and (c.isalnum() or c in "-_.") for c in key)
    )


class LocalStorage:
    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._objects = root / "objects"
        self._blobs = root / "blobs"
        self._tmp = root / "tmp"

    @property
    def spool_dir(self) -> Path:
        return self._tmp

    def _object(self, key: str) -> Path:
        if not key_ok(key):
            raise ValueError(f"bad storage key {key!r}")
        return self._objects / key

    def _blob(self, sha256: str) -> Path:
        return self._blobs / sha256[:2] / sha256

    async def put_file(self, key: str, source: Path, content_type: str, sha256: str) -> None:
        target = self._object(key)
        await anyio.to_thread.run_sync(self._put_sync, target, source, sha256)

    def _put_sync(self, target: Path, source: Path, sha256: str) -> None:
        blob = self._blob(sha256)
        blob.parent.mkdir(parents=True, exist_ok=True)
        self._objects.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)
        link = self._tmp / f"link-{secrets.token_hex(8)}"
        try:
            for _ in range(10):
                try:
                    os.link(source, blob)  # first copy of this content: the spool becomes it
                except FileExistsError:
                    pass
                except OSError as exc:
                    if exc.errno not in _NO_LINKS:
                        raise
                    # A file system without hard links (some network shares): the spool
                    # becomes the object itself, and identical contents are stored twice.
                    os.replace(source, target)
                    return
                try:
                    os.link(blob, link)
                    break
                except FileNotFoundError:  # the blob's last object was deleted meanwhile
                    continue
            else:  # pragma: no cover - ten lost races in a row
                raise OSError(f"could not store {target.name}")
            os.replace(link, target)
        finally:
            link.unlink(missing_ok=True)
            source.unlink(missing_ok=True)

    async def put_stream(
        self, key: str, chunks: AsyncIterable[bytes], content_type: str
    ) -> Spooled:
        spooled = await spool(chunks, self._tmp, None)
        try:
            await self.put_file(key, spooled.path, content_type, spooled.sha256)
        finally:
            spooled.discard()
        return spooled

    async def size(self, key: str) -> int | None:
        try:
            return (await anyio.to_thread.run_sync(os.stat, self._object(key))).st_size
        except FileNotFoundError:
            return None

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        path = self._object(key)
        try:
            handle = await anyio.to_thread.run_sync(open, path, "rb")
        except FileNotFoundError:
            raise NotStored(key) from None
        try:
            await anyio.to_thread.run_sync(handle.seek, start)
            left = None if end is None else end - start + 1
            while left is None or left > 0:
                want = CHUNK if left is None else min(CHUNK, left)
                data = await anyio.to_thread.run_sync(handle.read, want)
                if not data:
                    return
                if left is not None:
                    left -= len(data)
                yield data
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(self._delete_sync, self._object(key))

    def _delete_sync(self, target: Path) -> None:
        try:
            with open(target, "rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
        except FileNotFoundError:
            return
        target.unlink(missing_ok=True)
        blob = self._blob(digest)
        try:
            if os.stat(blob).st_nlink <= 1:
                blob.unlink(missing_ok=True)
        except FileNotFoundError:
            pass

    async def presign(
        self, key: str, filename: str, content_type: str, inline: bool, expires_seconds: int
    ) -> str | None:
        return None

    async def list_keys(self) -> list[str]:
        def keys() -> list[str]:
            if not self._objects.is_dir():
                return []
            return sorted(p.name for p in self._objects.iterdir() if key_ok(p.name))

        return await anyio.to_thread.run_sync(keys)

    async def sweep_tmp(self) -> int:
        """Remove spools and links a crash left in tmp/ (a day older than a file made now:
        the file system's own clock, which stamped them); return how many."""

        def sweep() -> int:
            if not self._tmp.is_dir():
                return 0
            probe = self._tmp / f"probe-{secrets.token_hex(8)}"
            probe.touch()
            try:
                cutoff = probe.stat().st_mtime - STALE_TMP_SECONDS
            finally:
                probe.unlink()
            gone = 0
            for path in self._tmp.iterdir():
                with contextlib.suppress(FileNotFoundError):
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        gone += 1
            return gone

        return await anyio.to_thread.run_sync(sweep)
