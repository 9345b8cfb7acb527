"""Rules of the layout that import-linter cannot see (the import contracts are in
pyproject.toml and run in `make lint`)."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "hubbub"
PUBLISHING = {"publish_events", "publish_ephemeral", "announcer"}


def test_services_publish_only_through_their_unit_of_work() -> None:
    """A service announces nothing itself: it adds events to its outbox, and the unit of
    work publishes them after the commit (services/unit.py)."""
    offenders = []
    for path in sorted((SRC / "services").glob("*.py")):
        if path.name == "unit.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in PUBLISHING:
                offenders.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert offenders == []


def test_nothing_reads_the_environment_but_the_configuration() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "config.py" or (path.parent.name == "hubbub" and path.name == "cli.py"):
            continue
        source = path.read_text()
        if "os.environ" in source or "os.getenv" in source:
            offenders.append(str(path.relative_to(SRC)))
    assert offenders == []


def test_time_is_read_through_the_clock() -> None:
    """Wall-clock and monotonic reads belong to hubbub.clock (durations measured for metrics
    and logs with perf_counter are fine), so a test's FakeClock controls all of them."""
    offenders = []
    banned = {("time", "time"), ("time", "time_ns"), ("time", "monotonic")}
    # ratelimits.py: the `limits` library reads the wall clock itself; its windows' resets
    # can only be counted on that clock.
    exempt = {"clock.py", "ratelimits.py"}
    for path in sorted(SRC.rglob("*.py")):
        if path.name in exempt:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and (node.value.id, node.attr) in banned
            ):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == []


def test_no_merge_conflict_markers_are_committed() -> None:
    """A merge left `<<<<<<< HEAD` in CHANGELOG.md once; git's markers never belong in a file."""
    root = SRC.parents[1]
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True
    ).stdout.split(b"\0")
    offenders = []
    for name in filter(None, listed):
        path = root / name.decode()
        if not path.is_file() or path.suffix not in {
            ".py",
            ".md",
            ".js",
            ".ts",
            ".html",
            ".css",
            ".json",
            ".toml",
            ".yml",
            ".yaml",
            ".sql",
            ".cfg",
            ".txt",
            "",
        }:
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if line.startswith(("<<<<<<< ", ">>>>>>> ")) or line == "=======":
                offenders.append(f"{name.decode()}:{number}")
    assert offenders == []
