"""The storage interface, and spooling a stream to a temporary file (hashed and counted)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import anyio

__all__ = ["CHUNK", "FileStorage", "NotStored", "Spooled", "TooBig", "spool"]

CHUNK = 1 << 20  # written (and hashed) in a worker thread a mebibyte at a time
# Spools are synced to disk every this many bytes as they arrive, so a big upload never piles
# up hundreds of dirty megabytes that one final fsync (and every other writer on the disk,
# the database's commits included) would then wait for.
SYNC_EVERY = 8 << 20


class NotStored(LookupError):
    """No object is stored under this key."""


class TooBig(Exception):
    """The stream went past the byte limit it was spooled with."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Spooled:
    """A stream written to a temporary file: its path, size and SHA-256 (hex), and its first
    bytes (for sniffing the type)."""

    path: Path
    size: int
    sha256: str
    head: bytes

    def discard(self) -> None:
        """Remove the temporary file (harmless if it was moved or removed already)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


HEAD_BYTES = 4096


async def spool(chunks: AsyncIterable[bytes], directory: Path, limit: int | None) -> Spooled:
    """Write `chunks` to a new file in `directory`, hashing and counting as they come; raise
    TooBig as soon as more than `limit` bytes arrived (the file is removed). Memory stays at
    about CHUNK bytes whatever the stream's size: the writes happen in a worker thread, so
    the event loop never waits on the disk."""

    def make() -> tuple[int, str]:
        directory.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(prefix="spool-", dir=directory)

    fd, name = await anyio.to_thread.run_sync(make)
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    head = b""
    pending: list[bytes] = []
    pending_size = 0
    unsynced = 0

    def flush(data: bytes) -> None:
        nonlocal unsynced
        digest.update(data)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        unsynced += len(data)
        if unsynced >= SYNC_EVERY:
            os.fdatasync(fd)
            unsynced = 0

    try:
        async for chunk in chunks:
            if not chunk:
                continue
            size += len(chunk)
            if limit is not None and size > limit:
                raise TooBig(limit)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= CHUNK:
                data = b"".join(pending)
                pending, pending_size = [], 0
                await anyio.to_thread.run_sync(flush, data)
        if pending:
            await anyio.to_thread.run_sync(flush, b"".join(pending))
        # On disk before anyone is told it is stored (a 201 survives a power cut).
        await anyio.to_thread.run_sync(os.fsync, fd)
        os.close(fd)
        fd = -1
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        raise
    return Spooled(path, size, digest.hexdigest(), head)


class FileStorage(Protocol):
    """Objects (immutable bytes) under string keys. Every method is safe to call from the
    event loop: blocking I/O runs in worker threads."""

    kind: str  # "local" or "s3"

    @property
    def spool_dir(self) -> Path:
        """Where uploads are spooled before `put_file` (for a local directory: on the same
        file system, so storing a spooled file is a rename)."""
        ...

    async def put_file(self, key: str, source: Path, content_type: str, sha256: str) -> None:
        """Store the file at `source` (whose SHA-256 is `sha256`) under `key`, replacing any
        object there; `source` is consumed (moved or removed). Atomic: a reader sees the whole
        object or none, also after a crash."""
        ...

    async def put_stream(
        self, key: str, chunks: AsyncIterable[bytes], content_type: str
    ) -> Spooled:
        """Store a stream under `key` (spooled to a temporary file first); return its size and
        SHA-256."""
        ...

    async def size(self, key: str) -> int | None:
        """The object's size in bytes; None when nothing is stored under `key`."""
        ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The object's bytes from `start` up to and including `end` (None: to the end), in
        chunks. NotStored (on the first iteration) when nothing is stored under `key`."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; idempotent (nothing stored is not an error)."""
        ...

    async def presign(
        self, key: str, filename: str, content_type: str, inline: bool, expires_seconds: int
    ) -> str | None:
        """A URL that serves the object directly for `expires_seconds` (S3), or None when the
        backend cannot (a local directory: hubbub serves it)."""
        ...

    async def list_keys(self) -> list[str]:
        """Every stored key (for backups, copies and tests)."""
        ...
