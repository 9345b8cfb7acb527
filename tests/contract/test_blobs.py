"""The file storage contract, run against every backend: a local directory and an
S3-compatible server (moto, started like PostgreSQL and Redis)."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import boto3
import httpx
import pytest

from hubbub.blobs import FileStorage, NotStored
from hubbub.blobs.base import TooBig, spool
from hubbub.blobs.local import LocalStorage
from hubbub.blobs.s3 import S3Storage

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["local", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FileStorage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "files")
        return
    endpoint: str = request.getfixturevalue("s3_server")
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    s3 = S3Storage(
        f"s3://contract-{uuid.uuid4().hex[:12]}/some/prefix",
        spool_dir=tmp_path / "spool",
        client=client,
    )
    await s3.ensure_bucket()
    yield s3


async def chunks_of(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def read_all(storage: FileStorage, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([c async for c in storage.read(key, start, end)])


async def put_bytes(storage: FileStorage, key: str, data: bytes, tmp: Path) -> None:
    spooled = await spool(chunks_of(data), tmp, None)
    await storage.put_file(key, spooled.path, "application/octet-stream", spooled.sha256)


async def test_round_trip_of_random_bytes_is_identical(
    storage: FileStorage, tmp_path: Path
) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    await put_bytes(storage, "f-one", data, tmp_path / "in")
    assert await storage.size("f-one") == len(data)
    back = await read_all(storage, "f-one")
    assert hashlib.sha256(back).hexdigest() == hashlib.sha256(data).hexdigest()


async def test_put_file_consumes_the_source(storage: FileStorage, tmp_path: Path) -> None:
    spooled = await spool(chunks_of(b"hello"), tmp_path / "in", None)
    await storage.put_file("f-src", spooled.path, "text/plain", spooled.sha256)
    assert not spooled.path.exists()


async def test_put_stream_returns_size_and_digest(storage: FileStorage) -> None:
    data = os.urandom(200_000)
    stored = await storage.put_stream("f-stream", chunks_of(data), "application/octet-stream")
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert await read_all(storage, "f-stream") == data


async def test_ranges(storage: FileStorage, tmp_path: Path) -> None:
    data = bytes(range(256)) * 10
    await put_bytes(storage, "f-range", data, tmp_path / "in")
    assert await read_all(storage, "f-range", 0, 0) == data[:1]
    assert await read_all(storage, "f-range", 10, 19) == data[10:20]
    assert await read_all(storage, "f-range", 2000) == data[2000:]
    assert await read_all(storage, "f-range", 100, len(data) - 1) == data[100:]


async def test_missing_objects(storage: FileStorage) -> None:
    assert await storage.size("f-none") is None
    with pytest.raises(NotStored):
        await read_all(storage, "f-none")
    await storage.delete("f-none")  # idempotent


async def test_delete_removes_the_object_and_is_idempotent(
    storage: FileStorage, tmp_path: Path
) -> None:
    await put_bytes(storage, "f-gone", b"bytes to forget", tmp_path / "in")
    await put_bytes(storage, "f-kept", b"other bytes", tmp_path / "in")
    await storage.delete("f-gone")
    await storage.delete("f-gone")
    assert await storage.size("f-gone") is None
    assert await storage.list_keys() == ["f-kept"]


async def test_identical_contents_under_two_keys_are_independent(
    storage: FileStorage, tmp_path: Path
) -> None:
    data = os.urandom(50_000)
    await put_bytes(storage, "f-a", data, tmp_path / "in")
    await put_bytes(storage, "f-b", data, tmp_path / "in")
    await storage.delete("f-a")
    assert await read_all(storage, "f-b") == data
    await storage.delete("f-b")
    assert await storage.list_keys() == []


async def test_replacing_a_key(storage: FileStorage, tmp_path: Path) -> None:
    await put_bytes(storage, "f-x", b"first", tmp_path / "in")
    await put_bytes(storage, "f-x", b"second", tmp_path / "in")
    assert await read_all(storage, "f-x") == b"second"


async def test_empty_object(storage: FileStorage, tmp_path: Path) -> None:
    await put_bytes(storage, "f-empty", b"", tmp_path / "in")
    assert await storage.size("f-empty") == 0
    assert await read_all(storage, "f-empty") == b""


async def test_presign_serves_the_object_or_says_it_cannot(
    storage: FileStorage, tmp_path: Path
) -> None:
    await put_bytes(storage, "f-signed", b"signed bytes", tmp_path / "in")
    url = await storage.presign("f-signed", "n\u00e4me.txt", "text/plain", False, 60)
    if storage.kind == "local":
        assert url is None
        return
    assert url is not None
    assert url.startswith("http://127.0.0.1:")
    async with httpx.AsyncClient() as client:
        r = await client.get(url)
    assert r.status_code == 200
    assert r.content == b"signed bytes"
    assert r.headers["content-disposition"].startswith("attachment;")


async def test_spool_stops_past_its_limit(tmp_path: Path) -> None:
    with pytest.raises(TooBig):
        await spool(chunks_of(b"x" * 1001, 100), tmp_path, 1000)
    assert os.listdir(tmp_path) == []
    done = await spool(chunks_of(b"x" * 1000, 100), tmp_path, 1000)
    assert done.size == 1000


async def test_local_stores_identical_contents_once(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    data = os.urandom(10_000)
    for key in ("f-1", "f-2", "f-3"):
        await put_bytes(storage, key, data, tmp_path / "in")
    blobs = [p for p in (tmp_path / "files" / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 1
    assert blobs[0].stat().st_nlink == 4  # the blob and three objects: one inode
    for key in ("f-1", "f-2", "f-3"):
        await storage.delete(key)
    assert [p for p in (tmp_path / "files").rglob("*") if p.is_file()] == []


async def test_local_never_shows_a_half_written_file(tmp_path: Path) -> None:
    """A spool is written under tmp/ and only linked in whole: a crash mid-write (the
    spool's file left behind) leaves nothing under objects/."""
    storage = LocalStorage(tmp_path / "files")

    async def broken() -> AsyncIterator[bytes]:
        yield b"half"
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        await storage.put_stream("f-half", broken(), "text/plain")
    assert await storage.list_keys() == []
    assert os.listdir(storage.spool_dir) == []


async def test_local_sweeps_what_a_crash_left_in_tmp(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    storage.spool_dir.mkdir(parents=True)
    old, new = storage.spool_dir / "spool-old", storage.spool_dir / "spool-new"
    old.write_bytes(b"half a file")
    new.write_bytes(b"being written")
    two_days_ago = old.stat().st_mtime - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    assert await storage.sweep_tmp() == 1
    assert os.listdir(storage.spool_dir) == ["spool-new"]


async def test_a_big_object_round_trips_in_parts(
    storage: FileStorage, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """20 MiB: past S3Storage's multipart threshold (8 MiB), so it goes up in three parts."""
    data = os.urandom(1024 * 1024) * 20
    await put_bytes(storage, "f-big", data, tmp_path / "in")
    if isinstance(storage, S3Storage):
        client = boto3.client(
            "s3",
            endpoint_url=request.getfixturevalue("s3_server"),
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        head = client.head_object(Bucket=storage.bucket, Key=storage.prefix + "f-big")
        assert head["ETag"].strip('"').endswith("-3")  # a multipart upload's ETag
    assert await storage.size("f-big") == len(data)
    digest = hashlib.sha256()
    async for chunk in storage.read("f-big"):
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert (
        await read_all(storage, "f-big", 19 * 1024 * 1024, 19 * 1024 * 1024 + 9)
        == data[19 * 1024 * 1024 : 19 * 1024 * 1024 + 10]
    )
