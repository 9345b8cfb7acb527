"""Starting the servers under test (hubbub and the bare ceilings) on free ports, pinned to
SERVER_CPU, waiting until they answer, and stopping them by PID.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from procs import HOST, SERVER_CPU, answers, free_port, stop

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable


@contextmanager
def serve_pinned(
    names: Sequence[str], workdir: Path, src: Path
) -> Iterator[dict[str, tuple[subprocess.Popen[bytes], int]]]:
    """Start each server pinned to SERVER_CPU (all at once: they start faster together than
    one after the other), wait until all answer, yield {name: (process, port)}, stop them.
    An idle server costs nothing measurable while the other one is measured."""
    env = os.environ | {"PYTHONPATH": str(src)}  # hubbub from `src`, ahead of the editable install
    started: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    logs: dict[str, Path] = {}
    try:
        for name in names:
            port = free_port()
            if name == "bare":
                cmd = [PYTHON, "-m", "uvicorn", "--app-dir", str(BENCH), "bare_ws:app"]
                cmd += ["--host", HOST, "--port", str(port), "--loop", "uvloop"]
                cmd += ["--http", "httptools", "--ws", "websockets-sansio"]
                cmd += ["--ws-per-message-deflate", "false", "--no-access-log"]
                cmd += ["--log-level", "warning", "--timeout-graceful-shutdown", "2"]
            else:
                db = f"sqlite:///{workdir / 'bench.db'}"
                cmd = [PYTHON, "-m", "hubbub", "serve", "--host", HOST, "--port", str(port)]
                cmd += ["--database-url", db, "--log-level", "warning"]
                cmd += ["--password-hashing", "fast", "--auth-attempts-per-minute", "0"]
            logs[name] = workdir / f"{name}.log"
            with logs[name].open("ab") as log:
                started[name] = (
                    subprocess.Popen(
                        ["taskset", "-c", str(SERVER_CPU), *cmd],
                        stdout=log,
                        stderr=log,
                        cwd=ROOT,
                        env=env,
                    ),
                    port,
                )
        deadline = time.monotonic() + 60
        for name, (proc, port) in started.items():
            while not answers(port, "/" if name == "bare" else "/messages?limit=1"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start (exit code {proc.poll()})")
                time.sleep(0.05)
        yield started
    except BaseException:
        for name, path in logs.items():
            tail = "\n".join(path.read_text(errors="replace").splitlines()[-20:])
            print(f"{name} server log (last lines):\n{tail}", file=sys.stderr)
        raise
    finally:
        for proc, _ in started.values():  # all at once: they shut down in parallel
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in started.values():
            stop(proc)
