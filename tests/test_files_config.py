"""Where files go, and the cluster rule: several nodes must share them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hubbub.config import ConfigError, Settings

PG = "postgresql://hubbub@127.0.0.1:1/hubbub"


def test_files_live_beside_the_sqlite_database_by_default(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db' / 'hubbub.db'}")
    assert settings.files_dir == tmp_path / "db" / "files"
    assert Settings(database_url=PG).files_dir == Path("./data/files")
    assert Settings(files_url="s3://bucket/prefix").files_dir is None
    assert Settings(files_url=str(tmp_path)).files_dir == tmp_path


def test_postgres_with_a_local_directory_needs_files_shared() -> None:
    with pytest.raises(ConfigError, match="HUBBUB_FILES_SHARED=true"):
        Settings(database_url=PG).check_shared_files()
    Settings(database_url=PG, files_shared=True).check_shared_files()
    Settings(database_url=PG, files_url="s3://b/p").check_shared_files()
    Settings().check_shared_files()  # SQLite: one node


@pytest.mark.parametrize("url", ["s3:/bucket", "s3://", "s3:///prefix"])
def test_malformed_s3_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="files_url"):
        Settings(files_url=url)


@pytest.mark.parametrize(
    ("name", "value"),
    [("max_upload_bytes", 0), ("upload_quota_bytes", -1), ("file_link_seconds", 0)],
)
def test_limits_must_be_positive(name: str, value: int) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings().replace(**{name: value})


def test_serve_refuses_postgres_with_unshared_local_files_in_words() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hubbub", "serve", "--database-url", PG],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "HUBBUB_FILES_SHARED=true" in result.stderr
    assert "s3://" in result.stderr
