"""The benchmarks' processes: free ports, stopping a server, and what /proc says about a process
(CPU time, run-queue wait, RSS) or about a CPU (busy time).

Only processes a benchmark started are ever stopped, by their PID. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import signal
import socket
import subprocess
from pathlib import Path

HOST = "127.0.0.1"
SERVER_CPU, LOAD_CPU = 0, 1  # servers on one core (taskset), the load on the other
WANT_NOFILE = 65536


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s; only ever the process we started, by its PID."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def answers(port: int, path: str) -> bool:
    """Whether GET `path` on 127.0.0.1:`port` answers 200 (a server is up)."""
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=2) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
        return s.recv(64).startswith(b"HTTP/1.1 200")
    return False


def raise_fd_limit(want: int = WANT_NOFILE) -> int:
    """Raise RLIMIT_NOFILE for this process and so for the servers it starts; returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limits in ((max(soft, want), max(hard, want)), (max(soft, min(want, hard)), hard)):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, limits)
            break
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a whole process (all threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    """`pid` and its descendants (hubbub serve --workers N: the parent and its workers)."""
    pids, i = [pid], 0
    while i < len(pids):
        for children in Path(f"/proc/{pids[i]}/task").glob("*/children"):
            with contextlib.suppress(OSError, ValueError):
                pids += [int(c) for c in children.read_text().split()]
        i += 1
    return pids


def _schedstats(pid: int) -> list[Path]:
    return [s for p in tree(pid) for s in Path(f"/proc/{p}/task").glob("*/schedstat")]


def thread_cpu(pid: int) -> dict[int, int]:
    """Nanoseconds on a CPU (user + system) of each thread of a process and its descendants,
    from /proc/<pid>/task/*/schedstat: exact, where /proc/<pid>/stat counts 10 ms ticks."""
    out = {}
    for stat in _schedstats(pid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            out[int(stat.parent.name)] = int(stat.read_text().split()[0])
    return out


def cpu_between(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU seconds between two thread_cpu() readings; threads that ended in between are left
    out (their last moments), threads that started are counted whole."""
    return sum(ns - before.get(tid, 0) for tid, ns in after.items()) / 1e9


def cpu_busy(cpu: int) -> float:
    """Seconds CPU `cpu` has spent not idle since boot (every process, and interrupts)."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            ticks = [int(x) for x in line.split()[1:]]
            return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    return 0.0


def runqueue_wait(pid: int) -> float:
    """Seconds the process's threads (and its descendants') spent runnable but not running
    (behind other processes or behind each other), from /proc/<pid>/task/*/schedstat."""
    total = 0
    for stat in _schedstats(pid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(stat.read_text().split()[1])
    return total / 1e9


def rss_kb(pid: int) -> int:
    """The resident memory of a process and its descendants (their shared pages counted in
    each)."""
    match = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    if not match:
        raise RuntimeError(f"no VmRSS for pid {pid}")
    total = int(match[1])
    for child in tree(pid)[1:]:  # one that just exited (or a zombie) counts nothing
        with contextlib.suppress(OSError):
            found = re.search(
                r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{child}/status").read_text(), re.M
            )
            total += int(found[1]) if found else 0
    return total
