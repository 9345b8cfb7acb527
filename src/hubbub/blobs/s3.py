"""Files in S3-compatible object storage (AWS S3, MinIO, Garage, Ceph...), through boto3.

`HUBBUB_FILES_URL=s3://bucket/prefix`; `HUBBUB_S3_ENDPOINT_URL` for a non-AWS service;
credentials and region come from the standard AWS variables (boto3's own lookup). boto3 is
blocking, so every call runs in a worker thread; `upload_file` switches to a multipart upload
(parts of 8 MiB, uploaded in parallel) for big files, and reads are ranged GETs streamed in
chunks, so no object is ever held whole in memory.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import anyio
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from hubbub.blobs.base import CHUNK, NotStored, Spooled, spool

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
else:
    S3Client = Any

__all__ = ["S3Storage", "parse_s3_url"]

TRANSFER = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20)


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix/"); ValueError if malformed."""
    if not url.startswith("s3://"):
        raise ValueError("must look like s3://bucket/prefix")
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise ValueError("names no bucket")
    prefix = prefix.strip("/")
    return bucket, (prefix + "/" if prefix else "")


def _missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


class S3Storage:
    kind = "s3"

    def __init__(
        self,
        url: str,
        endpoint_url: str | None = None,
        spool_dir: Path | None = None,
        client: S3Client | None = None,
    ) -> None:
        self.bucket, self.prefix = parse_s3_url(url)
        self._client: S3Client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}),
        )
        self._spool = spool_dir or Path(tempfile.gettempdir()) / "hubbub-spool"

    @property
    def spool_dir(self) -> Path:
        return self._spool

    def _key(self, key: str) -> str:
        return self.prefix + key

    async def put_file(self, key: str, source: Path, content_type: str, sha256: str) -> None:
        def upload() -> None:
            self._client.upload_file(
                str(source),
                self.bucket,
                self._key(key),
                ExtraArgs={"ContentType": content_type, "Metadata": {"sha256": sha256}},
                Config=TRANSFER,
            )

        try:
            await anyio.to_thread.run_sync(upload)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(source)

    async def put_stream(
        self, key: str, chunks: AsyncIterable[bytes], content_type: str
    ) -> Spooled:
        spooled = await spool(chunks, self._spool, None)
        try:
            await self.put_file(key, spooled.path, content_type, spooled.sha256)
        finally:
            spooled.discard()
        return spooled

    async def size(self, key: str) -> int | None:
        try:
            head = await anyio.to_thread.run_sync(
                lambda: self._client.head_object(Bucket=self.bucket, Key=self._key(key))
            )
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        return int(head["ContentLength"])

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        ranged = f"bytes={start}-{'' if end is None else end}"
        try:
            answer = await anyio.to_thread.run_sync(
                lambda: self._client.get_object(
                    Bucket=self.bucket, Key=self._key(key), Range=ranged
                )
            )
        except ClientError as exc:
            if _missing(exc):
                raise NotStored(key) from None
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return  # an empty object, or a start at its end
            raise
        body = answer["Body"]
        try:
            while True:
                data = await anyio.to_thread.run_sync(body.read, CHUNK)
                if not data:
                    return
                yield data
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(
            lambda: self._client.delete_object(Bucket=self.bucket, Key=self._key(key))
        )

    async def presign(
        self, key: str, filename: str, content_type: str, inline: bool, expires_seconds: int
    ) -> str | None:
        disposition = "inline" if inline else "attachment"
        params = {
            "Bucket": self.bucket,
            "Key": self._key(key),
            "ResponseContentType": content_type,
            "ResponseContentDisposition": f"{disposition}; filename*=UTF-8''{quote(filename)}",
        }
        return await anyio.to_thread.run_sync(
            lambda: self._client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires_seconds
            )
        )

    async def list_keys(self) -> list[str]:
        def keys() -> list[str]:
            found: list[str] = []
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                found.extend(o["Key"][len(self.prefix) :] for o in page.get("Contents", []))
            return sorted(found)

        return await anyio.to_thread.run_sync(keys)

    async def check(self) -> None:
        """Raise (botocore's error) unless the bucket exists and these credentials reach it."""
        await anyio.to_thread.run_sync(lambda: self._client.head_bucket(Bucket=self.bucket))

    async def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (tests and first starts)."""

        def ensure() -> None:
            try:
                self._client.head_bucket(Bucket=self.bucket)
            except ClientError:
                self._client.create_bucket(Bucket=self.bucket)

        await anyio.to_thread.run_sync(ensure)
