"""Image work with Pillow, in plain blocking functions that callers run in a worker thread
(never on the event loop): dimensions, EXIF stripping, thumbnails, avatars.

A decompression bomb (more pixels than the limit) is refused from the header alone, before
anything is decoded, so it never costs memory or a worker's time.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from hubbub.errors import BadImage, ImageTooLarge

__all__ = ["THUMBNAIL_BOX", "Processed", "make_avatar", "process_image", "strip_jpeg_metadata"]

THUMBNAIL_BOX = 400
AVATAR_SIZE = 256
# JPEG segments that carry metadata (EXIF with GPS, XMP, IPTC, comments): stripped. Colour
# profiles (APP2) and the JFIF/Adobe headers stay.
_STRIPPED = {0xE1, 0xED, 0xFE} | set(range(0xE3, 0xED)) | {0xEF}


@dataclass(frozen=True, slots=True)
class Processed:
    width: int
    height: int
    thumbnail: Path | None  # a WebP file beside the source; None when none could be made
    thumb_width: int = 0
    thumb_height: int = 0
    rewritten: bool = False  # the source file was replaced (metadata stripped)


def _open(path: Path, max_pixels: int) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(path)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageTooLarge(f"At most {max_pixels} pixels") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise BadImage("The image cannot be read") from None
    width, height = image.size
    if width * height > max_pixels or width < 1 or height < 1:
        image.close()
        raise ImageTooLarge(f"At most {max_pixels} pixels ({width}x{height} is more)")
    return image


def strip_jpeg_metadata(data: bytes) -> bytes:
    """The JPEG without its metadata segments (losslessly: the image data is untouched)."""
    if data[:2] != b"\xff\xd8":
        return data
    out = bytearray(data[:2])
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xDA or 0xD0 <= marker <= 0xD9:  # start of scan: the rest is image data
            break
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        segment = data[i : i + 2 + length]
        if marker not in _STRIPPED:
            out += segment
        i += 2 + length
    out += data[i:]
    return bytes(out)


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112, 1))
    except Exception:  # a malformed EXIF block: treat as upright
        return 1


def process_image(path: Path, content_type: str, max_pixels: int) -> Processed:
    """Record an image's dimensions, strip a JPEG's metadata in place (rotating the pixels
    when EXIF said to, since that tag goes too), and write a WebP thumbnail of at most
    THUMBNAIL_BOX pixels a side (an animated GIF's first frame). ImageTooLarge for a bomb,
    BadImage for something that is not a readable image."""
    rewritten = False
    with _open(path, max_pixels) as image:
        if content_type == "image/jpeg":
            if _orientation(image) != 1:
                upright = ImageOps.exif_transpose(image)
                tmp = path.with_name(path.name + ".jpg")
                upright.save(tmp, "JPEG", quality=92)
                os.replace(tmp, path)
            else:
                data = path.read_bytes()
                path.write_bytes(strip_jpeg_metadata(data))
            rewritten = True
    with _open(path, max_pixels) as image:
        width, height = image.size
        try:
            image.seek(0)  # an animation's first frame
            image.draft("RGB", (THUMBNAIL_BOX, THUMBNAIL_BOX))  # JPEG: decode at a fraction
            frame = image.convert("RGBA" if _has_alpha(image) else "RGB")
            frame.thumbnail((THUMBNAIL_BOX, THUMBNAIL_BOX))
            thumb = path.with_name(path.name + ".thumb.webp")
            frame.save(thumb, "WEBP", quality=80)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            raise BadImage("The image cannot be decoded") from None
    return Processed(width, height, thumb, frame.width, frame.height, rewritten)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def make_avatar(path: Path, max_pixels: int) -> Path:
    """A square AVATAR_SIZE WebP of the image's centre (upright, no metadata), beside it."""
    with _open(path, max_pixels) as image:
        try:
            image.seek(0)
            upright = ImageOps.exif_transpose(image)
            frame = upright.convert("RGBA" if _has_alpha(image) else "RGB")
            square = ImageOps.fit(frame, (AVATAR_SIZE, AVATAR_SIZE))
            out = path.with_name(path.name + ".avatar.webp")
            square.save(out, "WEBP", quality=85)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            raise BadImage("The image cannot be decoded") from None
    return out
