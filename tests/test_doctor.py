"""`hubbub doctor`: every problem it reports, provoked for real (a closed port, a release's
database, a file where a directory should be, a key that is not the certificate's, a low
open-file limit), and a sound deployment that passes."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hubbub.app import open_store
from hubbub.config import Settings
from hubbub.doctor import Context, Finding, Report, diagnose
from tests.certificates import make_certificate
from tests.mailbox import local_inbox
from tests.server_process import free_port

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).parent / "fixtures"


async def migrated_sqlite(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'hubbub.db'}"
    store = await open_store(Settings(database_url=url))
    try:
        await store.migrate()
    finally:
        await store.close()
    return url


async def doctor(disk_free_min_mb: int = 1, **settings: Any) -> Report:
    """What doctor finds with `settings` (1 MiB of free disk is plenty, unless told)."""
    return await diagnose(Context(Settings(**settings), disk_free_min_mb=disk_free_min_mb))


def finding(report: Report, check: str) -> Finding:
    (found,) = [f for f in report.findings if f.check == check]
    return found


async def test_a_sound_single_node_has_no_problems(tmp_path: Path) -> None:
    report = await doctor(database_url=await migrated_sqlite(tmp_path))
    assert report.is_ok
    assert [f.status for f in report.findings] == ["ok"] * len(report.findings)
    assert {f.check for f in report.findings} == {
        "database",
        "redis",
        "smtp",
        "public URL",
        "trusted proxies",
        "TLS",
        "files",
        "disk",
        "open files",
    }


async def test_a_new_sqlite_database_is_not_made_by_looking(tmp_path: Path) -> None:
    report = await doctor(database_url=f"sqlite:///{tmp_path / 'new' / 'hubbub.db'}")
    assert finding(report, "database").status == "ok"
    assert "no database yet" in finding(report, "database").message
    assert not (tmp_path / "new").exists()


# -- the database -----------------------------------------------------------------------------


async def test_an_unreachable_database_is_a_problem_that_says_why() -> None:
    report = await doctor(database_url=f"postgresql://hubbub@127.0.0.1:{free_port()}/hubbub")
    found = finding(report, "database")
    assert found.status == "problem"
    assert "Connection refused" in found.message
    assert "HUBBUB_DATABASE_URL" in found.fix
    assert not report.is_ok


async def test_a_sqlite_directory_that_cannot_be_made_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    report = await doctor(database_url=f"sqlite:///{tmp_path / 'a-file' / 'data' / 'h.db'}")
    found = finding(report, "database")
    assert found.status == "problem"
    assert "is not a directory" in found.message


async def test_pending_migrations_are_a_problem_that_says_how_to_migrate(tmp_path: Path) -> None:
    path = tmp_path / "released.db"
    shutil.copyfile(FIXTURES / "release-0.1.0.sqlite", path)
    found = finding(await doctor(database_url=f"sqlite:///{path}"), "database")
    assert found.status == "problem"
    assert "0003 event_payloads" in found.message
    assert "`hubbub migrate` with every node stopped" in found.fix


async def test_a_database_migrated_by_a_newer_hubbub_is_a_problem(tmp_path: Path) -> None:
    url = await migrated_sqlite(tmp_path)
    with sqlite3.connect(tmp_path / "hubbub.db") as db:
        db.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'later', 0)"
        )
    found = finding(await doctor(database_url=url), "database")
    assert found.status == "problem"
    assert "newer hubbub" in found.message
    assert "9999" in found.message


# -- Redis ------------------------------------------------------------------------------------


async def test_an_unreachable_redis_is_a_problem(tmp_path: Path) -> None:
    url = await migrated_sqlite(tmp_path)
    found = finding(
        await doctor(database_url=url, redis_url=f"redis://127.0.0.1:{free_port()}/0"), "redis"
    )
    assert found.status == "problem"
    assert "cannot reach Redis" in found.message


async def test_a_reachable_redis_is_ok(tmp_path: Path, redis_url: str) -> None:
    url = await migrated_sqlite(tmp_path)
    found = finding(await doctor(database_url=url, redis_url=redis_url), "redis")
    assert found.status == "ok"


async def test_an_unreachable_mail_relay_is_a_problem(tmp_path: Path) -> None:
    url = await migrated_sqlite(tmp_path)
    relay = f"smtp://127.0.0.1:{free_port()}?starttls=false"
    found = finding(
        await doctor(database_url=url, smtp_url=relay, mail_from="hubbub <a@example.com>"), "smtp"
    )
    assert found.status == "problem"
    assert "cannot use the mail relay at 127.0.0.1" in found.message


async def test_a_reachable_mail_relay_is_ok_and_gets_no_mail(tmp_path: Path) -> None:
    url = await migrated_sqlite(tmp_path)
    with local_inbox() as inbox:
        relay = f"smtp://127.0.0.1:{inbox.port}?starttls=false"
        report = await doctor(database_url=url, smtp_url=relay, mail_from="a@example.com")
    assert finding(report, "smtp").status == "ok"
    assert inbox.mails == []


# -- links and proxies --------------------------------------------------------------------------


async def test_invites_without_a_public_url_are_a_problem(tmp_path: Path) -> None:
    url = await migrated_sqlite(tmp_path)
    found = finding(await doctor(database_url=url, registration="invite"), "public URL")
    assert found.status == "problem"
    assert "HUBBUB_PUBLIC_URL" in found.fix
    with_url = await doctor(
        database_url=url, registration="invite", public_url="https://chat.example.com"
    )
    assert finding(with_url, "public URL").status == "ok"


async def test_a_plain_http_public_url_is_a_warning(tmp_path: Path) -> None:
    report = await doctor(
        database_url=await migrated_sqlite(tmp_path), public_url="http://chat.example.com"
    )
    assert finding(report, "public URL").status == "warning"
    assert report.is_ok  # a warning is advice; the server works


@pytest.mark.parametrize("everyone", ["0.0.0.0/0", "::/0", "127.0.0.1, 0.0.0.0/0"])
async def test_trusting_every_address_is_a_problem(tmp_path: Path, everyone: str) -> None:
    report = await doctor(database_url=await migrated_sqlite(tmp_path), trusted_proxies=everyone)
    found = finding(report, "trusted proxies")
    assert found.status == "problem"
    assert "trusts every address" in found.message


async def test_trusting_no_peer_a_loopback_server_can_see_is_a_problem(tmp_path: Path) -> None:
    url = await migrated_sqlite(tmp_path)
    report = await doctor(database_url=url, host="127.0.0.1", trusted_proxies="10.0.0.5")
    found = finding(report, "trusted proxies")
    assert found.status == "problem"
    assert "names none of them" in found.message
    # Listening on every interface, a remote proxy may be what it sees: no finding.
    anywhere = await doctor(database_url=url, host="0.0.0.0", trusted_proxies="10.0.0.5")
    assert finding(anywhere, "trusted proxies").status == "ok"


async def test_a_public_https_site_on_loopback_without_a_trusted_proxy_is_a_warning(
    tmp_path: Path,
) -> None:
    url = await migrated_sqlite(tmp_path)
    public = "https://chat.example.com"
    found = finding(await doctor(database_url=url, public_url=public), "trusted proxies")
    assert found.status == "warning"
    assert "a proxy stands in front" in found.message
    trusted = await doctor(database_url=url, public_url=public, trusted_proxies="127.0.0.1")
    assert finding(trusted, "trusted proxies").status == "ok"


# -- TLS, disk, open files ----------------------------------------------------------------------


async def test_a_key_that_is_not_the_certificates_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    cert, key = make_certificate(tmp_path / "one")
    _, other_key = make_certificate(tmp_path / "two")
    url = await migrated_sqlite(tmp_path)
    found = finding(
        await doctor(database_url=url, tls_cert=str(cert), tls_key=str(other_key)), "TLS"
    )
    assert found.status == "problem"
    assert "is the key the certificate's" in found.message
    good = await doctor(database_url=url, tls_cert=str(cert), tls_key=str(key))
    assert finding(good, "TLS").status == "ok"


async def test_too_little_disk_space_is_a_problem(tmp_path: Path) -> None:
    free_mb = shutil.disk_usage(tmp_path).free // (1024 * 1024)
    report = await doctor(
        database_url=await migrated_sqlite(tmp_path), disk_free_min_mb=free_mb + 1024
    )
    found = finding(report, "disk")
    assert found.status == "problem"
    assert "MiB free where the database lives" in found.message


# -- the command --------------------------------------------------------------------------------


def run_doctor(
    *args: str, env: dict[str, str] | None = None, nofile: int | None = None
) -> subprocess.CompletedProcess[str]:
    """`hubbub doctor ARGS` in a process of its own (with `nofile` as its open-file limit)."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("HUBBUB_")}
    child_env.update(env or {})
    # prlimit (util-linux) sets the child's limits: no preexec_fn in a threaded test process.
    limit = [] if nofile is None else ["prlimit", f"--nofile={nofile}:{nofile}", "--"]
    return subprocess.run(
        [*limit, sys.executable, "-m", "hubbub", "doctor", *args],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_the_command_exits_0_when_sound_and_1_on_a_problem_in_plain_words(
    tmp_path: Path,
) -> None:
    url = await migrated_sqlite(tmp_path)
    sound = run_doctor("--database-url", url)
    assert sound.returncode == 0, sound.stdout + sound.stderr
    assert sound.stdout.rstrip().endswith("hubbub doctor: no problems")
    sick = run_doctor("--database-url", url, env={"HUBBUB_REGISTRATION": "invite"})
    assert sick.returncode == 1
    assert "PROBLEM  public URL" in sick.stdout
    assert "fix: set HUBBUB_PUBLIC_URL" in sick.stdout
    assert sick.stdout.rstrip().endswith("hubbub doctor: 1 problem")


async def test_an_open_file_limit_below_max_connections_is_a_problem_in_json(
    tmp_path: Path,
) -> None:
    url = await migrated_sqlite(tmp_path)
    done = run_doctor(
        "--json", "--database-url", url, env={"HUBBUB_MAX_CONNECTIONS": "10000"}, nofile=1024
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert report["problems"] == 1
    (open_files,) = [c for c in report["checks"] if c["check"] == "open files"]
    assert open_files["status"] == "problem"
    assert "fits 640 connections" in open_files["message"]
    assert set(open_files) == {"check", "status", "message", "fix"}


async def test_files_in_a_directory_that_cannot_be_made_are_a_problem(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where the files directory should be")
    report = await doctor(
        database_url=await migrated_sqlite(tmp_path), files_url=str(tmp_path / "blocker" / "f")
    )
    found = finding(report, "files")
    assert found.status == "problem"
    assert "is not a directory" in found.message


async def test_postgres_with_unshared_local_files_is_a_problem() -> None:
    report = await doctor(database_url=f"postgresql://nobody@127.0.0.1:{free_port()}/x")
    found = finding(report, "files")
    assert found.status == "problem"
    assert "HUBBUB_FILES_SHARED" in found.fix


async def test_a_missing_bucket_is_a_problem_and_an_existing_one_is_ok(
    tmp_path: Path, s3_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    for name, value in (
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    url = await migrated_sqlite(tmp_path)
    report = await doctor(
        database_url=url, files_url="s3://doctor-none/x", s3_endpoint_url=s3_server
    )
    assert finding(report, "files").status == "problem"
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket="doctor-here")
    report = await doctor(
        database_url=url, files_url="s3://doctor-here/x", s3_endpoint_url=s3_server
    )
    assert finding(report, "files").status == "ok"
