"""Reading an upload's body as a stream: raw (the file is the body) or multipart/form-data
(the `file` field), with its filename, never holding the whole file in memory."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from hubbub.errors import Invalid

__all__ = ["Incoming", "MultipartFile", "disposition_filename", "incoming"]

_EXTENDED = re.compile(r"filename\*\s*=\s*([\w!#$%&+^`{}~-]+)'[\w-]*'([^;\s]+)", re.IGNORECASE)


def disposition_filename(value: bytes | None) -> str | None:
    """The filename of a Content-Disposition value (RFC 6266: `filename*` wins; a plain
    `filename` is read as UTF-8, as browsers send it in multipart bodies)."""
    if not value:
        return None
    extended = _EXTENDED.search(value.decode("latin-1"))
    if extended is not None:
        try:
            return unquote(extended.group(2), encoding=extended.group(1), errors="strict")
        except (LookupError, UnicodeDecodeError):
            return None
    _, params = parse_options_header(value)
    raw = params.get(b"filename")
    return None if raw is None else raw.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class Incoming:
    """An upload as it arrives: its name (None: not given), its bytes as a stream, and the
    size it will have at most as far as the headers tell (None: unknown)."""

    filename: str | None
    chunks: AsyncIterator[bytes]
    declared_size: int | None


# A multipart body's framing is a few hundred bytes: the file's own size is checked as it
# streams, so from its Content-Length only a body far past the limit is refused early.
MULTIPART_SLACK = 65536


async def incoming(request: Request, filename: str | None = None) -> Incoming:
    """The file of an upload request: the raw body (named by `filename` or a
    Content-Disposition header), or the `file` field of a multipart/form-data body."""
    content_type = request.headers.get("content-type", "")
    length = request.headers.get("content-length")
    declared = int(length) if length is not None and length.isdigit() else None
    if content_type.lower().startswith("multipart/form-data"):
        part = MultipartFile(content_type, aiter(request.stream()))
        name = await part.open()
        slack = None if declared is None else max(0, declared - MULTIPART_SLACK)
        return Incoming(filename or name, part.chunks(), slack or None)
    raw = request.headers.get("content-disposition")
    given = filename or disposition_filename(None if raw is None else raw.encode("latin-1"))
    return Incoming(given, aiter(request.stream()), declared)


class MultipartFile:
    """The first `file` field of a multipart/form-data stream: `await open()` reads up to its
    headers and returns its filename (Invalid when there is none), then `chunks()` yields its
    bytes as they arrive. Other fields are skipped."""

    def __init__(self, content_type: str, stream: AsyncIterator[bytes]) -> None:
        _, params = parse_options_header(content_type.encode("latin-1", "replace"))
        boundary = params.get(b"boundary")
        if not boundary:
            raise Invalid("multipart/form-data needs a boundary", field="file")
        self._stream = stream
        self._pieces: deque[bytes] = deque()
        self._field = b""
        self._value = b""
        self._headers: dict[bytes, bytes] = {}
        self._active = False
        self._found: str | None = None
        self._opened = False
        self._done = False
        self._eof = False
        callbacks: Any = {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }
        self._parser = MultipartParser(boundary, callbacks)

    def _begin(self) -> None:
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        if self._opened:
            return
        disposition = self._headers.get(b"content-disposition", b"")
        _, params = parse_options_header(disposition)
        if params.get(b"name") == b"file":
            self._opened = self._active = True
            self._found = disposition_filename(disposition) or ""

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._active:
            self._pieces.append(bytes(data[start:end]))

    def _end(self) -> None:
        if self._active:
            self._active = False
            self._done = True

    async def _feed(self) -> None:
        try:
            chunk = await anext(self._stream)
        except StopAsyncIteration:
            self._eof = True
            return
        try:
            self._parser.write(chunk)
        except Exception as exc:  # python-multipart raises its own errors for bad framing
            raise Invalid(f"Malformed multipart body: {exc}", field="file") from None

    async def open(self) -> str:
        while not self._opened and not self._eof:
            await self._feed()
        if not self._opened:
            raise Invalid("The multipart body has no `file` field", field="file")
        return self._found or ""

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            while self._pieces:
                yield self._pieces.popleft()
            if self._done:
                return
            if self._eof:
                raise Invalid("The multipart body ends inside the file", field="file")
            await self._feed()
