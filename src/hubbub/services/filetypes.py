"""What a file is, from its first bytes (never from what the client says), and how it may be
served: only inert types are shown inline; markup and scripts are never served as
themselves."""

from __future__ import annotations

__all__ = ["DANGEROUS", "IMAGES", "INLINE", "clean_filename", "sniff"]

# Raster images Pillow reads and browsers show: thumbnails are made of these.
IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# Shown inline (Content-Disposition: inline) with their own type; everything else is a
# download.
INLINE = IMAGES | frozenset(
    {
        "audio/mpeg",
        "audio/ogg",
        "audio/wav",
        "audio/flac",
        "video/mp4",
        "video/webm",
        "application/pdf",
    }
)
# Active content a browser would run: served as application/octet-stream, as an attachment.
DANGEROUS = frozenset(
    {"text/html", "image/svg+xml", "text/xml", "application/xml", "text/javascript"}
)

_MAGIC: list[tuple[bytes, int, str]] = [
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"%PDF-", 0, "application/pdf"),
    (b"ID3", 0, "audio/mpeg"),
    (b"OggS", 0, "audio/ogg"),
    (b"fLaC", 0, "audio/flac"),
    (b"\x1a\x45\xdf\xa3", 0, "video/webm"),
    (b"PK\x03\x04", 0, "application/zip"),
    (b"\x1f\x8b", 0, "application/gzip"),
    (b"BM", 0, "image/bmp"),
]
# Case-insensitive starts of markup, after leading whitespace (WHATWG MIME sniffing's
# "identify an unknown type", plus SVG and XML).
_HTML = (
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<script",
    b"<iframe",
    b"<h1",
    b"<div",
    b"<font",
    b"<table",
    b"<a",
    b"<style",
    b"<title",
    b"<b",
    b"<body",
    b"<br",
    b"<p",
    b"<!--",
)


def sniff(head: bytes) -> str:
    """The media type of content starting with `head` (its first few KiB)."""
    for magic, offset, media in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return media
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip(b" \t\r\n\x0c").lower()
    if b"<svg" in text[:1024]:
        return "image/svg+xml"
    for start in _HTML:
        if text.startswith(start) and text[len(start) : len(start) + 1] in (b" ", b">", b""):
            return "text/html"
    if text.startswith(b"<?xml"):
        return "text/xml"
    if b"\x00" not in head and _is_text(head):
        return "text/plain"
    return "application/octet-stream"


def _is_text(head: bytes) -> bool:
    """UTF-8 (allowing a character cut at the end of the sample)."""
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3


def clean_filename(name: str) -> str:
    """A name safe to store and echo: no directories, no control characters, at most 255
    characters; "" when nothing is left."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if c.isprintable() and c not in '"')
    return cleaned.strip().lstrip(".")[:255]
