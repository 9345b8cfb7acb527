"""make bench's `upload` and `download` scenarios: files through hubbub against `dd` copying
the same bytes on the same disk in the same run.

- upload: `file_count` files of `file_size_mb` MB streamed by curl to POST
  /api/v1/rooms/{id}/uploads (hubbub spools, hashes and syncs them into its files directory
  beside the database) against `dd if=<the same file> of=<a file in that directory> bs=1M
  conv=fsync`. While the uploads run, a chat load posts a message every 20 ms; its p99 is
  compared with the same load alone and while dd writes the same bytes (what the disk alone
  does to its commits): uploads must not block the event loop or the writer thread. The
  server's peak RSS during the uploads is its `rss_mb`.
- download: the same files fetched by curl with their signed links (to /dev/null) against
  `dd if=<the stored file> of=/dev/null bs=1M` (both from the page cache). Beside it, when
  nginx is installed, nginx (one worker, sendfile, pinned like hubbub) serving dd's copies to
  the same curl: what an HTTP server written for this reaches over loopback on this machine,
  reported as the download's `nginx_mb_per_s` and `ratio_to_nginx`.

Throughput is MB/s; p50/p95/p99 are per file; CPU is µs per MB (the server's threads, or dd's
own user + system time).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from procs import HOST, SERVER_CPU, cpu_between, free_port, rss_kb, stop, thread_cpu
from results import CURVE, Result
from scenarios import Params
from servers import Server

MB = 1024 * 1024
SEND_EVERY = 0.02


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def _result(name: str, run: int, server: str, seconds: list[float], mb: float, **kw: Any) -> Result:
    ms = [s * 1000 for s in seconds]
    return Result(
        scenario=name,
        run=run,
        server=server,
        unit="MB/s",
        throughput=mb / sum(seconds),
        p50_ms=_percentile(ms, 50),
        p95_ms=_percentile(ms, 95),
        p99_ms=_percentile(ms, 99),
        ops=len(seconds),
        curve_ms={str(p): _percentile(ms, p) for p in CURVE},
        **kw,
    )


class _Peak(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.done = pid, rss_kb(pid), threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            self.peak_kb = max(self.peak_kb, rss_kb(self.pid))


class _Chat(threading.Thread):
    """A message every SEND_EVERY seconds, until stopped; the latency of each send."""

    def __init__(self, base: str, headers: dict[str, str], room_id: str) -> None:
        super().__init__(daemon=True)
        self.base, self.headers, self.room_id = base, headers, room_id
        self.latencies: list[float] = []
        self.errors = 0
        self.done = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=30) as http:
            while not self.done.is_set():
                started = time.perf_counter()
                r = http.post(f"/api/v1/rooms/{self.room_id}/messages", json={"text": "hi"})
                self.latencies.append(time.perf_counter() - started)
                self.errors += r.status_code != 201
                self.done.wait(max(0.0, SEND_EVERY - (time.perf_counter() - started)))


def _dd(args: list[str]) -> tuple[float, float, int]:
    """Run dd; (seconds, CPU seconds, peak RSS KB) of that one child."""
    started = time.perf_counter()
    proc = subprocess.Popen(["dd", *args, "status=none"], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"dd {args} exited {proc.returncode}")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def _curl(args: list[str]) -> tuple[float, str]:
    """Run curl (a C client, so the client is never what is measured); (seconds, stdout)."""
    started = time.perf_counter()
    done = subprocess.run(
        ["curl", "--silent", "--show-error", "--fail-with-body", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"curl {args[-1]} exited {done.returncode}: {done.stdout[-500:]}")
    return time.perf_counter() - started, done.stdout


def _nginx_seconds(root: Path, names: list[str], pinned: bool) -> list[float] | None:
    """Seconds curl takes to fetch each file from nginx serving `root` (None without nginx)."""
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if binary is None:
        return None
    port = free_port()
    temp = root / "nginx-temp"
    temp.mkdir(exist_ok=True)
    conf = root / "nginx.conf"
    paths = " ".join(
        f"{k}_temp_path {temp};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"daemon off; worker_processes 1; pid {root / 'nginx.pid'};\n"
        f"error_log {root / 'nginx.log'};\n"
        "events { worker_connections 64; }\n"
        f"http {{ access_log off; sendfile on; {paths}\n"
        f"  server {{ listen {HOST}:{port}; root {root}; }} }}\n"
    )
    cmd = [binary, "-c", str(conf), "-p", str(root)]
    if pinned:
        cmd = ["taskset", "-c", str(SERVER_CPU), *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"http://{HOST}:{port}/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("nginx did not start") from None
                time.sleep(0.05)
        return [_curl(["-o", "/dev/null", f"http://{HOST}:{port}/{name}"])[0] for name in names]
    finally:
        stop(proc)


def measure_transfers(
    server: Server, workdir: Path, params: Params, run: int
) -> dict[str, list[Result]]:
    """Both scenarios on one hubbub (the upload leaves the files the download fetches). The
    same source files (in the page cache) feed curl's uploads and dd's copies."""
    block = os.urandom(MB)
    sources = []
    for i in range(params.file_count):
        sources.append(workdir / f"source-{i}.bin")
        with sources[-1].open("wb") as sink:
            for k in range(params.file_size_mb):
                sink.write(block[(i + k) % 97 :] + block[: (i + k) % 97])
    base = f"http://{HOST}:{server.port}"
    with httpx.Client(base_url=base, timeout=300) as http:
        r = http.post("/api/v1/accounts", json={"username": f"up{run}", "password": "bench pw 1"})
        r.raise_for_status()
        token = r.json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        room = http.post(
            "/api/v1/rooms", json={"name": "files", "visibility": "private"}, headers=headers
        ).json()
    alone = _Chat(base, headers, room["id"])
    alone.start()
    time.sleep(params.chat_seconds)
    alone.done.set()
    alone.join()

    peak = _Peak(server.pid)
    peak.start()
    chat = _Chat(base, headers, room["id"])
    chat.start()
    cpu_before = thread_cpu(server.pid)
    up_seconds: list[float] = []
    uploads: list[dict[str, Any]] = []
    try:
        for i, source in enumerate(sources):
            took, out = _curl(
                [
                    "-X",
                    "POST",
                    "-T",
                    str(source),
                    "-H",
                    f"Authorization: Bearer {token}",
                    "-H",
                    "Content-Type: application/octet-stream",
                    "-H",
                    "Expect:",
                    f"{base}/api/v1/rooms/{room['id']}/uploads?filename=f{i}.bin",
                ]
            )
            up_seconds.append(took)
            uploads.append(json.loads(out))
    finally:
        chat.done.set()
        peak.done.set()
        chat.join()
        peak.join()
    up_cpu = cpu_between(cpu_before, thread_cpu(server.pid))
    errors = sum(u.get("size") != params.file_size_mb * MB for u in uploads)

    cpu_before = thread_cpu(server.pid)
    down_seconds: list[float] = []
    for up in uploads:
        took, out = _curl(["-o", "/dev/null", "-w", "%{size_download}", base + up["url"]])
        down_seconds.append(took)
        errors += int(out) != up["size"]
    down_cpu = cpu_between(cpu_before, thread_cpu(server.pid))

    files_dir = workdir / "files"
    files_dir.mkdir(exist_ok=True)
    # The same chat load while dd writes the same bytes: what the disk alone does to it.
    beside_dd = _Chat(base, headers, room["id"])
    beside_dd.start()
    try:
        dd_up = [
            _dd([f"if={source}", f"of={files_dir / f'dd-{i}.bin'}", "bs=1M", "conv=fsync"])
            for i, source in enumerate(sources)
        ]
    finally:
        beside_dd.done.set()
        beside_dd.join()
    dd_down = [
        _dd([f"if={files_dir / f'dd-{i}.bin'}", "of=/dev/null", "bs=1M"])
        for i in range(params.file_count)
    ]
    nginx = _nginx_seconds(
        files_dir,
        [f"dd-{i}.bin" for i in range(params.file_count)],
        shutil.which("taskset") is not None,
    )
    total_mb = params.file_size_mb * params.file_count
    base_p99 = _percentile(alone.latencies, 99) * 1000 if alone.latencies else None
    during_p99 = _percentile(chat.latencies, 99) * 1000 if chat.latencies else None
    dd_p99 = _percentile(beside_dd.latencies, 99) * 1000 if beside_dd.latencies else None
    extra = {
        "send_p99_ms_alone": base_p99,
        "send_p99_ms_during_uploads": during_p99,
        "send_p99_ms_during_dd": dd_p99,
        "sends_alone": len(alone.latencies),
        "sends_during_uploads": len(chat.latencies),
        "file_mb": params.file_size_mb,
        "files": params.file_count,
    }
    up_result = _result(
        "upload",
        run,
        "hubbub",
        up_seconds,
        total_mb,
        cpu_us_per_op=up_cpu / total_mb * 1e6,
        rss_mb=peak.peak_kb / 1024,
        errors=errors + chat.errors + alone.errors + beside_dd.errors,
        extra=extra,
    )
    down = _result(
        "download",
        run,
        "hubbub",
        down_seconds,
        total_mb,
        cpu_us_per_op=down_cpu / total_mb * 1e6,
        rss_mb=rss_kb(server.pid) / 1024,
        extra={
            "nginx_mb_per_s": total_mb / sum(nginx) if nginx else None,
            "ratio_to_nginx": sum(nginx) / sum(down_seconds) if nginx else None,
        },
    )

    def dd_result(name: str, runs: list[tuple[float, float, int]]) -> Result:
        # dd's RSS is its peak as a child (ru_maxrss), which counts the forking parent's pages
        # before exec: an upper bound.
        return _result(
            name,
            run,
            "bare",
            [r[0] for r in runs],
            total_mb,
            cpu_us_per_op=sum(r[1] for r in runs) / total_mb * 1e6,
            rss_mb=max(r[2] for r in runs) / 1024,
        )

    return {
        "upload": [up_result, dd_result("upload", dd_up)],
        "download": [down, dd_result("download", dd_down)],
    }


def chat_p99(results: list[Result]) -> dict[str, float | None]:
    """Medians over runs of the chat load's p99: alone, during uploads, during dd."""
    ups = [r for r in results if r.scenario == "upload" and r.server == "hubbub"]
    out: dict[str, float | None] = {}
    for key in ("send_p99_ms_alone", "send_p99_ms_during_uploads", "send_p99_ms_during_dd"):
        found = [r.extra[key] for r in ups if r.extra.get(key)]
        out[key] = statistics.median(found) if found else None
    return out
