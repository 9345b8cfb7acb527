"""Copying every stored file from one storage to another: for `hubbub backup` / `restore`
(a directory beside the database backup) and `hubbub copy-data` (e.g. a local directory to
S3). Objects stream through a spool file, one at a time."""

from __future__ import annotations

from collections.abc import Callable

from hubbub.blobs.base import FileStorage

__all__ = ["copy_objects"]


async def copy_objects(
    source: FileStorage,
    dest: FileStorage,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Copy each object of `source` that `dest` lacks (or holds with another size); return
    how many were copied. Idempotent: a copy interrupted half way is finished by running it
    again."""
    keys = await source.list_keys()
    copied = 0
    for done, key in enumerate(keys, 1):
        size = await source.size(key)
        if size is not None and await dest.size(key) != size:
            await dest.put_stream(key, source.read(key), "application/octet-stream")
            copied += 1
        if progress is not None:
            progress(done, len(keys))
    return copied
