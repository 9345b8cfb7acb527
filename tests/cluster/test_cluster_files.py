"""Files in a cluster: two nodes on one PostgreSQL and Redis share one store (a directory
said to be shared, or S3). A link signed by one node opens on the other (the key is in the
database), and a delete on either removes the bytes for both."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from tests.backends import Databases
from tests.server_process import ServerProcess

API = "/api/v1"
AWS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(params=["shared-directory", "s3"])
def store_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    if request.param == "shared-directory":
        return {"HUBBUB_FILES_URL": str(tmp_path / "files"), "HUBBUB_FILES_SHARED": "true"}
    endpoint: str = request.getfixturevalue("s3_server")
    bucket = f"cluster-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint).create_bucket(Bucket=bucket)
    return {"HUBBUB_FILES_URL": f"s3://{bucket}/h", "HUBBUB_S3_ENDPOINT_URL": endpoint, **AWS}


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def stored(env: dict[str, str]) -> list[str]:
    url = env["HUBBUB_FILES_URL"]
    if not url.startswith("s3://"):
        root = Path(url) / "objects"
        return sorted(os.listdir(root)) if root.exists() else []
    bucket = url.removeprefix("s3://").split("/")[0]
    s3 = s3_client(env["HUBBUB_S3_ENDPOINT_URL"])
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


@pytest.fixture
def two_nodes(
    pg_databases: Databases, redis_url: str, tmp_path: Path, store_env: dict[str, str]
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    db = pg_databases.fresh()
    env = {"HUBBUB_REDIS_URL": redis_url, **store_env}
    a = ServerProcess(db, log_path=tmp_path / "a.log", env=env).start()
    b = ServerProcess(db, log_path=tmp_path / "b.log", env=env).start()
    try:
        yield a, b
    finally:
        for server in (a, b):
            server.kill()


def sign_up(server: ServerProcess, username: str) -> dict[str, str]:
    r = httpx.post(
        f"{server.url}{API}/accounts", json={"username": username, "password": "fuzz-pass-1"}
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_a_file_uploaded_on_one_node_is_served_and_deleted_by_the_other(
    two_nodes: tuple[ServerProcess, ServerProcess], store_env: dict[str, str]
) -> None:
    a, b = two_nodes
    alice, bob = sign_up(a, "alice"), sign_up(b, "bob")
    room = httpx.post(
        f"{a.url}{API}/rooms", json={"name": "r", "visibility": "public"}, headers=alice
    ).json()
    assert httpx.post(f"{b.url}{API}/rooms/{room['id']}/join", headers=bob).status_code == 204
    data = os.urandom(300_000)
    up = httpx.post(
        f"{a.url}{API}/rooms/{room['id']}/uploads",
        params={"filename": "shared.bin"},
        content=data,
        headers={**alice, "Content-Type": "application/octet-stream"},
    ).json()
    sent = httpx.post(
        f"{a.url}{API}/rooms/{room['id']}/messages",
        json={"attachments": [up["id"]]},
        headers=alice,
    ).json()
    r = httpx.get(b.url + up["url"])  # a's signature, b's answer
    assert r.status_code == 200
    assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(data).hexdigest()
    page = httpx.get(f"{b.url}{API}/rooms/{room['id']}/messages", headers=bob).json()
    from_b = page["messages"][-1]["attachments"][0]["url"]
    assert httpx.get(a.url + from_b).content == data
    assert stored(store_env) != []
    assert httpx.delete(f"{b.url}{API}/messages/{sent['id']}", headers=alice).status_code == 204
    assert stored(store_env) == []
    assert httpx.get(a.url + up["url"]).status_code == 404
