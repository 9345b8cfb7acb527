"""Optional profiling of a server under load with py-spy, and a summary of what it recorded.

BENCH_PY_SPY_ARGS adds py-spy options, e.g. "--gil" or "--native".
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

PYTHON = sys.executable


def start_py_spy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy samples the server (all threads, idle ones left out) without pausing it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy", path=str(Path(PYTHON).parent)) or "py-spy"
    cmd = [spy, "record", "--nonblocking", "--threads", "--pid", str(pid), "--rate", "250"]
    cmd += ["--format", "raw", "--output", str(out)]
    extra = os.environ.get("BENCH_PY_SPY_ARGS", "").split()  # e.g. "--gil" or "--native"
    if "--native" in extra:  # py-spy must pause the server for native stacks
        cmd.remove("--nonblocking")
    cmd += extra
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_py_spy(proc: subprocess.Popen[bytes], out: Path | None) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if out is not None and out.exists():
        top = out.with_suffix(".top.txt")
        top.write_text(profile_summary(out))
        print(f"    py-spy: {out} (summary {top})", flush=True)


def profile_summary(raw: Path, rows: int = 25) -> str:
    """Self and inclusive shares of the frames in a py-spy raw (collapsed stacks) file."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames, n = stack.split(";"), int(count)
        total += n
        own[frames[-1]] += n
        threads[frames[0]] += n
        for frame in set(frames[1:]):
            inclusive[frame] += n
    if not total:
        return "no samples\n"

    def block(title: str, counts: Counter[str], keep: Callable[[str], bool]) -> list[str]:
        top = [(f, c) for f, c in counts.most_common() if keep(f)][:rows]
        return [f"-- {title}", *(f"{c / total:6.1%}  {f}" for f, c in top)]

    lines = [f"{total} samples ({raw.name})"]
    lines += block("threads", threads, lambda f: True)
    lines += block("self (leaf frames)", own, lambda f: True)
    lines += block("inclusive, hubbub code", inclusive, lambda f: "hubbub/" in f)
    lines += block("inclusive, all", inclusive, lambda f: True)
    return "\n".join(lines) + "\n"
