"""What the file tests share: uploading, reading what storage holds, and test images."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from hubbub.config import Settings
from tests.api.conftest import Account


async def upload(
    account: Account,
    room_id: str,
    data: bytes,
    filename: str | None = "file.bin",
    content_type: str = "application/octet-stream",
    **kw: Any,
) -> httpx.Response:
    params = {"filename": filename} if filename is not None else {}
    return await account.post(
        f"/rooms/{room_id}/uploads",
        content=data,
        params=params,
        headers={"Content-Type": content_type},
        **kw,
    )


async def uploaded(account: Account, room_id: str, data: bytes, **kw: Any) -> dict[str, Any]:
    r = await upload(account, room_id, data, **kw)
    assert r.status_code == 201, r.text
    return dict(r.json())


def stored_files(settings: Settings) -> list[Path]:
    """Every regular file under the files directory (content, objects, leftovers), relative
    to it."""
    root = settings.files_dir
    assert root is not None
    if not root.exists():
        return []
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def png(width: int = 640, height: int = 480, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


GPS_MARKER = b"SECRET-GPS-48.8584N-2.2945E"


def jpeg_with_gps(orientation: int = 1) -> bytes:
    """A JPEG whose EXIF holds a GPS block and a description we can look for."""
    image = Image.new("RGB", (300, 200), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010E] = GPS_MARKER.decode()  # ImageDescription
    exif[0x0112] = orientation
    gps = {1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    exif[0x8825] = gps  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (500, 100), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb)."""
    small = png(8, 8)
    ihdr = struct.pack(">II", width, height) + small[24:29]
    chunk = b"IHDR" + ihdr
    return (
        small[:8]
        + struct.pack(">I", 13)
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + small[33:]
    )


def random_bytes(n: int) -> bytes:
    return os.urandom(n)
