"""Files: uploads (streamed to storage, never held whole in memory), downloads (who may read
what, by signed link or bearer token), orphans, and deleting bytes after their rows.

Bytes and rows: a file's bytes are stored before its row is committed, and its row is deleted
(its storage keys queued in `doomed_files`) in the transaction that deletes its message, prunes
it or erases its account; `reap` then deletes the queued objects from storage. A crash between
the two leaves the keys queued, and the upkeep reaps them; a crash before an upload's row
commits leaves an object no row names, which is never served.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import anyio

from hubbub.blobs import FileStorage, spool
from hubbub.blobs.base import TooBig
from hubbub.config import Settings
from hubbub.errors import (
    BadImage,
    FileNotFound,
    FileTooLarge,
    Invalid,
    LinkExpired,
    NotAllowed,
    QuotaExceeded,
    RoomNotFound,
    Unauthenticated,
)
from hubbub.events import RoomUpdated, UserUpdated
from hubbub.ids import new_id
from hubbub.links import FileLinks, Verdict
from hubbub.models import Room, RoomAccess, Upload, User
from hubbub.services.access import require_manager, require_voice, room_access, visible_room
from hubbub.services.filetypes import DANGEROUS, IMAGES, INLINE, clean_filename, sniff
from hubbub.services.images import make_avatar, process_image
from hubbub.services.notifications import with_level
from hubbub.services.ratelimits import RateLimits
from hubbub.services.rooms import public_room
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import files as files_q
from hubbub.store import users as users_q

__all__ = ["ORPHAN_HOURS", "Download", "FileService", "Link", "Reap", "no_reaping"]

# What services that delete messages call after their commit: FileService.reap.
Reap = Callable[[], Awaitable[int]]

ORPHAN_HOURS = 24
BATCH = 500
AVATAR_PREFIX = "av_"
AVATAR_KEY = re.compile(r"av_[0-9a-f]{32}")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Link:
    """The `exp` and `sig` query parameters of a signed link."""

    exp: str
    sig: str


@dataclass(frozen=True, slots=True)
class Download:
    """What to send for a download: the object, and how to label it."""

    key: str
    size: int
    content_type: str  # as served: DANGEROUS types become application/octet-stream
    inline: bool  # an inert type shown in the browser; else Content-Disposition: attachment
    filename: str
    etag: str
    # Where the bytes can be fetched straight from the store (S3 with files_redirect), for
    # a few minutes; None: hubbub sends them itself.
    redirect: str | None = None


REDIRECT_SECONDS = 300


def _digest(path: Path) -> tuple[int, str]:
    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256")
        return handle.tell(), digest.hexdigest()


@dataclass(frozen=True, slots=True)
class FileService:
    uow: UnitOfWork
    settings: Settings
    limits: RateLimits
    storage: FileStorage
    links: FileLinks

    async def upload(
        self,
        me: User,
        room_id: str,
        filename: str | None,
        chunks: AsyncIterable[bytes],
        declared_size: int | None = None,
    ) -> Upload:
        """Store a file for `me` to attach in `room_id` (members who may write only: the rules
        of sending). The type is sniffed from the bytes; images get their dimensions, a
        thumbnail and (JPEGs) their metadata stripped before they are stored.

        Invalid (no filename, an empty file, an unreadable image), FileTooLarge past
        max_upload_bytes (as soon as the stream goes past it), QuotaExceeded, ImageTooLarge.
        """
        name = clean_filename(filename or "")
        if not name:
            raise Invalid("The file needs a name (filename)", field="filename")
        limit = self.settings.max_upload_bytes
        if declared_size is not None and declared_size > limit:
            raise FileTooLarge(f"Files may be at most {limit} bytes")
        await self.limits.hit("uploads", me.id)
        await self.uow.read(lambda tx: require_voice(tx, room_id, me.id))

        def guard(tx: Tx, size: int) -> None:
            require_voice(tx, room_id, me.id)
            self._check_quota(tx, me.id, size)

        return await self._store(me.id, room_id, name, chunks, limit, guard)

    async def store_imported(
        self, owner_id: str, room_id: str, filename: str, chunks: AsyncIterable[bytes]
    ) -> Upload:
        """Store a file from an import (services/slackimport.py) as `owner_id`'s upload to
        `room_id`, not yet attached: processed like an upload (type sniffed, images checked
        and thumbnailed), but with no rate limit, membership or quota check (the history being
        imported already holds it). Invalid (no name, empty, an unreadable image),
        FileTooLarge past max_upload_bytes."""
        name = clean_filename(filename)
        if not name:
            raise Invalid("The file needs a name (filename)", field="filename")
        return await self._store(
            owner_id, room_id, name, chunks, self.settings.max_upload_bytes, lambda tx, size: None
        )

    async def _store(
        self,
        user_id: str,
        room_id: str,
        name: str,
        chunks: AsyncIterable[bytes],
        limit: int,
        guard: Callable[[Tx, int], None],
    ) -> Upload:
        """Spool, check, process and store a file, then commit its row; `guard(tx, size)`
        runs before storing and again in the write (it raises to refuse)."""
        try:
            spooled = await spool(chunks, self.storage.spool_dir, limit)
        except TooBig:
            raise FileTooLarge(f"Files may be at most {limit} bytes") from None
        thumb: Path | None = None
        try:
            if spooled.size == 0:
                raise Invalid("The file is empty", field="file")
            await self.uow.read(lambda tx: guard(tx, spooled.size))
            content_type = sniff(spooled.head)
            size, sha256 = spooled.size, spooled.sha256
            width = height = None
            thumb_size: tuple[int, int] | None = None
            if content_type in IMAGES:
                done = await anyio.to_thread.run_sync(
                    process_image, spooled.path, content_type, self.settings.image_max_pixels
                )
                width, height, thumb = done.width, done.height, done.thumbnail
                if thumb is not None:
                    thumb_size = (done.thumb_width, done.thumb_height)
                if done.rewritten:
                    size, sha256 = await anyio.to_thread.run_sync(_digest, spooled.path)
            upload = Upload(
                id=new_id("f", self.uow.clock.now_ms()),
                room_id=room_id,
                user_id=user_id,
                filename=name,
                content_type=content_type,
                size=size,
                sha256=sha256,
                created_at=self.uow.clock.now_ms(),
                width=width,
                height=height,
                has_thumbnail=thumb is not None,
            )
            keys = [upload.id]
            if thumb is not None:
                keys.append(upload.id + files_q.THUMB_SUFFIX)

            def fn(tx: Tx, outbox: Outbox) -> Upload:
                # Again, in the writer: concurrent uploads of one account add up exactly.
                guard(tx, upload.size)
                stored = replace(upload, created_at=outbox.now_ms)
                files_q.insert_upload(tx, stored, thumb_size)
                return stored

            try:
                await self.storage.put_file(upload.id, spooled.path, content_type, sha256)
                if thumb is not None:
                    _, thumb_sha = await anyio.to_thread.run_sync(_digest, thumb)
                    await self.storage.put_file(keys[1], thumb, "image/webp", thumb_sha)
                return await self.uow.write(fn)
            except BaseException:
                # Whatever was stored of it goes (deleting what is not there is harmless).
                with anyio.CancelScope(shield=True):
                    for key in keys:
                        await self.storage.delete(key)
                raise
        finally:
            spooled.discard()
            if thumb is not None:
                thumb.unlink(missing_ok=True)

    def _check_quota(self, tx: Tx, user_id: str, adding: int) -> None:
        quota = self.settings.upload_quota_bytes
        if quota and files_q.bytes_used(tx, user_id) + adding > quota:
            raise QuotaExceeded(f"Your files may add up to at most {quota} bytes")

    async def open(
        self,
        viewer: User | None,
        file_id: str,
        filename: str | None,
        link: Link | None,
        *,
        thumbnail: bool = False,
    ) -> Download:
        """What a download of `file_id` (its thumbnail) sends, if the request may have it: a
        genuine, unexpired signed `link` (LinkExpired when expired), or a `viewer` who may
        read the room (any signed-in user for a public room; only the uploader before the
        file is attached). Anything else is FileNotFound: nothing leaks."""
        kind = "thumb" if thumbnail else "file"
        if link is not None:
            verdict = self.links.verify(kind, file_id, link.exp, link.sig)
            if verdict is Verdict.FORGED:
                raise FileNotFound("No such file")
            if verdict is Verdict.EXPIRED:
                raise LinkExpired("The link has expired: fetch a new one")
        elif viewer is None:
            raise Unauthenticated("Sign in, or use the signed link from the API")

        def fn(tx: Tx) -> Upload:
            found = files_q.find_upload(tx, file_id)
            if found is None or (filename is not None and filename != found.filename):
                raise FileNotFound("No such file")
            if link is None and viewer is not None:
                if found.message_id is None:
                    if found.user_id != viewer.id:
                        raise FileNotFound("No such file")
                else:
                    try:
                        room_access(tx, found.room_id, viewer.id)
                    except RoomNotFound:
                        raise FileNotFound("No such file") from None
            return found

        upload = await self.uow.read(fn)
        if thumbnail:
            if not upload.has_thumbnail:
                raise FileNotFound("This file has no thumbnail")
            key = upload.id + files_q.THUMB_SUFFIX
            size = await self.storage.size(key)
            if size is None:
                raise FileNotFound("No such file")
            name = upload.filename.rsplit(".", 1)[0] + ".thumbnail.webp"
            return Download(key, size, "image/webp", True, name, f'"{upload.sha256[:32]}-t"')
        served = "application/octet-stream" if upload.content_type in DANGEROUS else None
        download = Download(
            upload.id,
            upload.size,
            served or upload.content_type,
            upload.content_type in INLINE,
            upload.filename,
            f'"{upload.sha256[:32]}"',
        )
        if self.settings.files_redirect:
            # The store serves it with the same type and disposition, from its own origin.
            url = await self.storage.presign(
                download.key,
                download.filename,
                download.content_type,
                download.inline,
                REDIRECT_SECONDS,
            )
            download = replace(download, redirect=url)
        return download

    def read(self, download: Download, start: int, end: int) -> AsyncIterator[bytes]:
        """The bytes of a download from `start` to `end` (inclusive)."""
        return self.storage.read(download.key, start, end)

    async def set_avatar(
        self, me: User, chunks: AsyncIterable[bytes], declared_size: int | None = None
    ) -> User:
        """Make an image your avatar: re-encoded as a square AVATAR_SIZE WebP (centre crop,
        upright, no metadata); the old one's bytes go. Everyone hears of it (user.updated)."""
        await self.limits.hit("uploads", me.id)
        key = await self._store_avatar(chunks, declared_size)

        def fn(tx: Tx, outbox: Outbox) -> User:
            files_q.swap_avatar(tx, "users", me.id, key)
            updated = users_q.find_user_by_id(tx, me.id)
            assert updated is not None
            outbox.add(UserUpdated(updated))
            return updated

        return await self._write_avatar(fn, key)

    async def clear_avatar(self, me: User) -> User:
        """Remove your avatar (idempotent)."""

        def fn(tx: Tx, outbox: Outbox) -> User:
            found = users_q.find_user_by_id(tx, me.id)
            assert found is not None
            if found.avatar is None:
                return found
            files_q.swap_avatar(tx, "users", me.id, None)
            updated = replace(found, avatar=None)
            outbox.add(UserUpdated(updated))
            return updated

        return await self._write_avatar(fn, None)

    async def set_room_avatar(
        self,
        me: User,
        room_id: str,
        chunks: AsyncIterable[bytes] | None,
        declared_size: int | None = None,
    ) -> Room:
        """Set (or, with no `chunks`, remove) a room's avatar: its owner or an admin (a server
        admin in a public room); not a DM. room.updated tells everyone who can see it."""
        await self.uow.read(lambda tx: _room_manager(tx, room_id, me))
        key = None
        if chunks is not None:
            await self.limits.hit("uploads", me.id)
            key = await self._store_avatar(chunks, declared_size)

        def fn(tx: Tx, outbox: Outbox) -> Room:
            _room_manager(tx, room_id, me)
            files_q.swap_avatar(tx, "rooms", room_id, key)
            updated = visible_room(tx, room_id, me.id)
            outbox.add(RoomUpdated(public_room(updated)))
            return updated

        room = await self._write_avatar(fn, key)
        return with_level(room, self.settings.notify_default)  # notifications (#18)

    async def _store_avatar(self, chunks: AsyncIterable[bytes], declared: int | None) -> str:
        limit = self.settings.max_upload_bytes
        if declared is not None and declared > limit:
            raise FileTooLarge(f"Files may be at most {limit} bytes")
        try:
            spooled = await spool(chunks, self.storage.spool_dir, limit)
        except TooBig:
            raise FileTooLarge(f"Files may be at most {limit} bytes") from None
        made: Path | None = None
        try:
            if sniff(spooled.head) not in IMAGES:
                raise BadImage("An avatar must be a PNG, JPEG, GIF or WebP image")
            made = await anyio.to_thread.run_sync(
                make_avatar, spooled.path, self.settings.image_max_pixels
            )
            key = AVATAR_PREFIX + secrets.token_hex(16)
            _, sha256 = await anyio.to_thread.run_sync(_digest, made)
            await self.storage.put_file(key, made, "image/webp", sha256)
            return key
        finally:
            spooled.discard()
            if made is not None:
                await anyio.to_thread.run_sync(functools.partial(made.unlink, missing_ok=True))

    async def _write_avatar(self, fn: Callable[[Tx, Outbox], T], key: str | None) -> T:
        try:
            result = await self.uow.write(fn)
        except BaseException:
            if key is not None:
                with anyio.CancelScope(shield=True):
                    await self.storage.delete(key)
            raise
        await self.reap()  # the old picture
        return result

    async def open_avatar(self, key: str) -> Download:
        """An avatar, to anyone with its (unguessable) link; FileNotFound for any other."""
        if not AVATAR_KEY.fullmatch(key):
            raise FileNotFound("No such avatar")
        size = await self.storage.size(key)
        if size is None:
            raise FileNotFound("No such avatar")
        return Download(key, size, "image/webp", True, "avatar.webp", f'"{key}"')

    async def reap(self) -> int:
        """Delete from storage the objects whose rows are gone (doomed_files); return how
        many. Idempotent; nodes may race."""
        gone = 0
        while True:
            keys = await self.uow.read(lambda tx: files_q.list_doomed(tx, BATCH))
            if not keys:
                return gone
            for key in keys:
                await self.storage.delete(key)
            await self.uow.write(functools.partial(_forget, keys=keys))
            gone += len(keys)
            if len(keys) < BATCH:
                return gone

    async def sweep_orphans(self) -> int:
        """Remove uploads never attached within ORPHAN_HOURS (rows, then bytes)."""
        before = self.uow.clock.now_ms() - ORPHAN_HOURS * 3600 * 1000
        removed = 0
        while True:
            gone = await self.uow.write(lambda tx, outbox: files_q.purge_orphans(tx, before, BATCH))
            removed += gone
            if gone < BATCH:
                break
        await self.reap()
        return removed


def _room_manager(tx: Tx, room_id: str, me: User) -> RoomAccess:
    room = require_manager(tx, room_id, me)
    if room.kind == "dm":
        raise NotAllowed("A direct message has no avatar of its own")
    return room


def _forget(tx: Tx, outbox: Outbox, keys: list[str]) -> None:
    files_q.forget_doomed(tx, keys)


async def no_reaping() -> int:
    """A Reap for services built without file storage."""
    return 0
