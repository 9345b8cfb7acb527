"""SQLite backup and restore (`hubbub backup`, `hubbub restore`).

Backup: SQLite's online backup API copies the database in one step from a read snapshot, so
the copy is consistent (everything committed before it began, nothing half-written) while the
server keeps writing (WAL: readers and the writer do not block each other). The copy is then
checked with `PRAGMA integrity_check`.

Restore: only with every hubbub process on the database stopped. Each process that opens the
database holds a shared lock on `<database>.lock` (SQLiteEngine); restore takes it
exclusively, or refuses. The backup is checked, copied next to the database, and renamed over
it (the old write-ahead log removed), then migrated, and the deployment gets a new id so that
every client starts over instead of resuming into a rewound log.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = [
    "BackupError",
    "backup_sqlite",
    "check_integrity",
    "exclusive",
    "lock_path",
    "replace_database",
    "shared_lock",
]


class BackupError(Exception):
    """The backup or restore cannot go ahead (the message says why and what to do)."""


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def shared_lock(database: Path) -> int:
    """Hold a shared lock on the database's lock file for as long as the returned descriptor
    is open: a restore cannot run meanwhile."""
    fd = os.open(lock_path(database), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


@contextlib.contextmanager
def exclusive(database: Path) -> Iterator[None]:
    """The database to oneself, or BackupError if a hubbub process has it open."""
    fd = os.open(lock_path(database), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(
                f"a hubbub process has {database} open (a server?): stop it, then restore"
            ) from None
        yield
    finally:
        os.close(fd)


def check_integrity(path: Path) -> None:
    """BackupError unless `path` is a sound SQLite database with a hubbub schema."""
    if not path.is_file():
        raise BackupError(f"there is no file at {path}")
    try:
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{path}: cannot open it: {exc}") from exc
    try:
        result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            raise BackupError(f"{path} is damaged: {'; '.join(result[:5])}")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"schema_migrations", "messages", "events", "meta"} <= tables:
            raise BackupError(f"{path} is not a hubbub database")
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: not a readable SQLite database: {exc}") from exc
    finally:
        conn.close()


def backup_sqlite(
    database: Path, target: Path, progress: Callable[[int, int], None] | None = None
) -> int:
    """Copy `database` to `target` online and check the copy; return its size in bytes.
    `progress(copied_bytes, total_bytes)` is called about ten times a second meanwhile."""
    if not database.exists():
        raise BackupError(f"there is no database at {database}")
    if target.exists():
        raise BackupError(f"{target} exists already: choose a new file")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(
        f"file:{database.resolve()}?mode=ro", uri=True, check_same_thread=False
    )
    dest = sqlite3.connect(partial, check_same_thread=False)
    try:
        page_size, pages = (
            source.execute("PRAGMA page_size").fetchone()[0],
            source.execute("PRAGMA page_count").fetchone()[0],
        )
        total = page_size * pages
        done = threading.Event()
        failure: list[BaseException] = []

        def copy() -> None:
            try:
                # One step (pages=-1): the whole copy comes from one read snapshot. Steps of a
                # few pages would restart whenever the server commits, which it always does.
                source.backup(dest, pages=-1)
            except BaseException as exc:
                failure.append(exc)
            finally:
                done.set()

        worker = threading.Thread(target=copy, name="hubbub-backup")
        worker.start()
        while not done.wait(0.1):
            if progress is not None:
                progress(min(partial.stat().st_size, total), total)
        worker.join()
        if failure:
            raise BackupError(f"the backup failed: {failure[0]}") from failure[0]
        # A backup is one self-contained file: no write-ahead log beside it.
        dest.execute("PRAGMA journal_mode = DELETE")
    finally:
        source.close()
        dest.close()
    check_integrity(partial)
    if progress is not None:
        progress(partial.stat().st_size, partial.stat().st_size)
    with open(partial, "rb") as f:
        os.fsync(f.fileno())
    partial.rename(target)
    return target.stat().st_size


def replace_database(backup: Path, database: Path) -> None:
    """Put `backup` in place of `database` (call inside `exclusive(database)`)."""
    check_integrity(backup)
    database.parent.mkdir(parents=True, exist_ok=True)
    incoming = database.with_name(database.name + ".restoring")
    shutil.copyfile(backup, incoming)
    with open(incoming, "rb") as f:
        os.fsync(f.fileno())
    for suffix in ("-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    incoming.replace(database)
