"""Data export: everything an account wrote, as a zip of JSON (the format is documented in
docs/api.md, "Data export"). Requested with one call; built off the request path by a worker
that pages through the database and writes the zip to a temporary file (bounded memory),
then stores it in chunks any node can serve; kept EXPORT_TTL_MS, and discarded at once when
the account deletes or edits a message (it holds their text: docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import tempfile
import zipfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import IO, Any

import orjson

from hubbub.blobs import FileStorage, NotStored
from hubbub.errors import ExportNotFound
from hubbub.models import Attachment, Message, User
from hubbub.services.ratelimits import RateLimits
from hubbub.services.unit import Outbox, UnitOfWork
from hubbub.store import Tx
from hubbub.store import email as email_q
from hubbub.store import exports as exports_q
from hubbub.store import files as files_q
from hubbub.store import messages as messages_q
from hubbub.store import reactions as reactions_q
from hubbub.store import rooms as rooms_q
from hubbub.store import users as users_q

__all__ = ["CHUNK_BYTES", "EXPORT_TTL_MS", "FORMAT_VERSION", "Export", "ExportService"]

FORMAT_VERSION = 1
CHUNK_BYTES = 256 * 1024
PAGE = 500
FILES_PAGE = 50
EXPORT_TTL_MS = 7 * 86_400_000
STALE_MS = 10 * 60_000  # a build unfinished this long is taken over (its node died)


@dataclass(frozen=True, slots=True)
class Export:
    status: str  # pending | building | ready
    requested_at: int
    ready_at: int | None
    expires_at: int | None
    size: int | None


class Wakeup:
    """Tells this node's export worker there is work (other nodes find it on their timer)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def set(self) -> None:
        self.event.set()


def _time(ms: int | None) -> str | None:
    if ms is None:
        return None
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class ExportService:
    uow: UnitOfWork
    limits: RateLimits
    wakeup: Wakeup
    storage: FileStorage

    async def request(self, me: User) -> Export:
        """Ask for a fresh export (replacing any earlier one); it is built in the background."""
        await self.limits.hit("exports", me.id)

        def fn(tx: Tx, outbox: Outbox) -> None:
            exports_q.request_export(tx, me.id, outbox.now_ms)

        await self.uow.write(fn)
        self.wakeup.set()
        return await self.status(me)

    async def status(self, me: User) -> Export:
        """The account's export (ExportNotFound if none, or it expired)."""
        now = self.uow.clock.now_ms()
        row = await self.uow.read(lambda tx: exports_q.find_export(tx, me.id))
        if row is None or (row.expires_at is not None and row.expires_at < now):
            raise ExportNotFound("No export: ask for one with POST /api/v1/me/export")
        return Export(row.status, row.requested_at, row.ready_at, row.expires_at, row.size)

    async def download(self, me: User) -> AsyncIterator[bytes]:
        """The ready zip, a chunk at a time."""
        n = 0
        while True:
            chunk = await self.uow.read(functools.partial(exports_q.read_chunk, user_id=me.id, n=n))
            if chunk is None:
                return
            yield chunk
            n += 1

    async def purge_expired(self) -> int:
        return await self.uow.write(lambda tx, outbox: exports_q.purge_expired(tx, outbox.now_ms))

    async def build_pending(self) -> int:
        """Build every export waiting (or abandoned by a node that died); return how many."""
        built = 0
        while True:
            claimed = await self.uow.write(
                lambda tx, outbox: exports_q.claim_next(tx, outbox.now_ms, STALE_MS)
            )
            if claimed is None:
                return built
            await self._build(claimed.user_id, claimed.requested_at)
            built += 1

    async def _build(self, user_id: str, requested_at: int) -> None:
        with tempfile.TemporaryFile() as spool:
            size = await self._write_zip(user_id, spool)
            spool.seek(0)
            n = 0
            while True:
                data = await asyncio.to_thread(spool.read, CHUNK_BYTES)
                if not data:
                    break
                if not await self.uow.write(_chunk_writer(user_id, requested_at, n, data)):
                    return  # discarded (a message of theirs was deleted) or asked for again
                n += 1
        await self.uow.write(
            lambda tx, outbox: exports_q.mark_ready(
                tx, user_id, requested_at, size, outbox.now_ms, EXPORT_TTL_MS
            )
        )

    async def _write_zip(self, user_id: str, spool: IO[bytes]) -> int:
        """Write the export's zip into `spool`, a page of rows at a time; return its size."""
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            user, rooms = await self.uow.read(lambda tx: _account(tx, user_id))
            manifest = {
                "format": "hubbub-export",
                "version": FORMAT_VERSION,
                "exported_at": _time(self.uow.clock.now_ms()),
                "user_id": user_id,
                "files": [
                    "account.json",
                    "rooms.json",
                    "messages.jsonl",
                    "reactions.jsonl",
                    "files.jsonl",
                ],
            }
            await _put(archive, "manifest.json", [manifest])
            avatar = user.pop("avatar_key")
            if avatar is not None and await self._put_blob(archive, avatar, "avatar.webp"):
                user["avatar"] = "avatar.webp"
            await _put(archive, "account.json", [user])
            await _put(archive, "rooms.json", [rooms])
            await _put_pages(
                archive, "messages.jsonl", lambda after: self._messages(user_id, after)
            )
            await _put_pages(
                archive, "reactions.jsonl", lambda after: self._reactions(user_id, after)
            )
            await _put_pages(
                archive, "files.jsonl", lambda after: self._file_records(user_id, after)
            )
            await self._put_files(archive, user_id)
        return spool.tell()

    async def _put_blob(self, archive: zipfile.ZipFile, key: str, name: str) -> bool:
        """Copy a stored object into the archive as `name`, a chunk at a time; False when
        storage no longer holds it (its message was deleted since the page was read)."""
        if await self.storage.size(key) is None:
            return False
        try:
            with archive.open(name, "w", force_zip64=True) as member:
                async for chunk in self.storage.read(key):
                    await asyncio.to_thread(member.write, chunk)
        except NotStored:
            return False
        return True

    async def _file_records(self, user_id: str, after: Any) -> tuple[list[dict[str, Any]], Any]:
        """A page of the account's attached files, as records."""
        page = await self.uow.read(
            lambda tx: files_q.list_attached_by_user(tx, user_id, after or "", FILES_PAGE)
        )
        records = [
            {
                "id": upload.id,
                "message_id": upload.message_id,
                "room_id": upload.room_id,
                "filename": upload.filename,
                "content_type": upload.content_type,
                "size": upload.size,
                "sha256": upload.sha256,
                "created_at": _time(upload.created_at),
                "path": _file_path(upload.id, upload.filename),
            }
            for upload in page
        ]
        return records, (page[-1].id if len(page) == FILES_PAGE else None)

    async def _put_files(self, archive: zipfile.ZipFile, user_id: str) -> None:
        """The bytes of the account's attached files, each at its record's `path`. (A file
        whose message is deleted meanwhile is skipped: that delete discards this export.)"""
        after = ""
        while True:
            page = await self.uow.read(
                functools.partial(
                    files_q.list_attached_by_user, user_id=user_id, after_id=after, limit=FILES_PAGE
                )
            )
            for upload in page:
                await self._put_blob(archive, upload.id, _file_path(upload.id, upload.filename))
            if len(page) < FILES_PAGE:
                return
            after = page[-1].id

    async def _messages(self, user_id: str, after: Any) -> tuple[list[dict[str, Any]], Any]:
        page, attached = await self.uow.read(lambda tx: _messages_page(tx, user_id, after))
        records = [
            {
                "id": m.id,
                "room_id": m.room_id,
                "room_name": room_name,
                "seq": m.seq,
                "text": m.text,
                "created_at": _time(m.created_at),
                "edited_at": _time(m.edited_at),
                "reply_to": m.reply_to,
                "attachments": [a.id for a in attached.get(m.id, ())],
            }
            for m, room_name in page
        ]
        return records, (page[-1][0].id if len(page) == PAGE else None)

    async def _reactions(self, user_id: str, after: Any) -> tuple[list[dict[str, Any]], Any]:
        page = await self.uow.read(
            lambda tx: reactions_q.list_by_user(tx, user_id, after or ("", ""), PAGE)
        )
        records = [
            {"message_id": m, "room_id": r, "emoji": e, "created_at": _time(at)}
            for m, r, e, at in page
        ]
        return records, ((page[-1][0], page[-1][2]) if len(page) == PAGE else None)


def _chunk_writer(
    user_id: str, requested_at: int, n: int, data: bytes
) -> Callable[[Tx, Outbox], bool]:
    def fn(tx: Tx, outbox: Outbox) -> bool:
        return exports_q.write_chunk(tx, user_id, requested_at, n, data)

    return fn


def _file_path(upload_id: str, filename: str) -> str:
    return f"files/{upload_id}/{filename}"


def _messages_page(
    tx: Tx, user_id: str, after: Any
) -> tuple[list[tuple[Message, str]], dict[str, list[Attachment]]]:
    page = messages_q.list_by_author(tx, user_id, after or "", PAGE)
    if not page:
        return page, {}
    attached = files_q.attachments_of(
        tx,
        "m.author_id = :u AND m.id >= :first AND m.id <= :last",
        {"u": user_id, "first": page[0][0].id, "last": page[-1][0].id},
    )
    return page, attached


def _account(tx: Tx, user_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    user = users_q.find_user_by_id(tx, user_id)
    assert user is not None
    account = {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "created_at": _time(user.created_at),
        "is_admin": user.is_admin,
        "avatar_key": user.avatar,
    }
    address = email_q.find_address(tx, user_id)  # missed-message email (#18)
    account["email"] = address.email
    account["email_confirmed"] = address.confirmed
    rooms = [
        {
            "id": r.id,
            "name": r.name,
            "topic": r.topic,
            "visibility": r.visibility,
            "kind": r.kind,
            "role": r.my_role,
            "last_read_seq": r.last_read_seq,
        }
        for r in rooms_q.list_rooms_of(tx, user_id)
    ]
    return account, rooms


async def _put(archive: zipfile.ZipFile, name: str, values: list[Any]) -> None:
    data = b"".join(orjson.dumps(v, option=orjson.OPT_INDENT_2) + b"\n" for v in values)
    await asyncio.to_thread(archive.writestr, name, data)


async def _put_pages(
    archive: zipfile.ZipFile,
    name: str,
    page: Callable[[Any], Any],
) -> None:
    """A JSON Lines member written a page at a time (never the whole of it in memory)."""
    with archive.open(name, "w", force_zip64=True) as member:
        after: Any = None
        while True:
            records, after = await page(after)
            if records:
                data = b"".join(orjson.dumps(r) + b"\n" for r in records)
                await asyncio.to_thread(member.write, data)
            if after is None:
                return
