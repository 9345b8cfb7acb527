"""make bench's HTTP scenarios: wrk against hubbub (classic API, v1 send and history) or a bare
ASGI ceiling, with its latency percentiles read from a Lua `done` hook; one Result each.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Any

import classic
from http_pool import Http
from measurements import arun
from procs import HOST, cpu_between, thread_cpu
from profiles import start_py_spy, stop_py_spy
from results import CURVE, Result, result_line
from rich.progress import Progress
from servers import Server, rss_mb
from targets import PASSWORD

HISTORY_MESSAGES = 60
SEND_BODY = '{"text":"hello world from wrk"}'


def lua_script(method: str, body: str | None, token: str | None) -> str:
    """A wrk script: the request, then (in done) the latency percentiles as `PCT p µs` lines."""
    lines = [f'wrk.method = "{method}"']
    if body is not None:
        lines += [
            f"wrk.body = {json.dumps(body)}",
            'wrk.headers["Content-Type"] = "application/json"',
        ]
    if token:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    pcts = ", ".join(str(p) for p in (*CURVE, 95))
    lines += [
        "done = function(summary, latency, requests)",
        f"  for _, p in ipairs({{{pcts}}}) do",
        '    io.write(string.format("PCT %g %d\\n", p, latency:percentile(p)))',
        "  end",
        "end",
    ]
    return "\n".join(lines) + "\n"


@dataclass(slots=True)
class WrkJob:
    """What wrk hits on one server: a path and a script."""

    port: int
    path: str
    script: str


def run_wrk(
    job: WrkJob, seconds: float, connections: int, progress: Progress, label: str
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(job.script)
    try:
        cmd = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            f.name,
        ]
        cmd.append(f"http://{HOST}:{job.port}{job.path}")
        task = progress.add_task(label, total=seconds)
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while proc.poll() is None:
            progress.update(task, completed=min(seconds, time.monotonic() - started))
            time.sleep(0.1)
        out, err = proc.communicate()
        progress.remove_task(task)
    finally:
        os.unlink(f.name)
    if proc.returncode:
        raise RuntimeError(f"wrk exited {proc.returncode}: {err}")
    parsed = classic.parse_wrk(out)
    pcts = {}
    for line in out.splitlines():
        if line.startswith("PCT "):
            _, p, us = line.split()
            pcts[p] = int(us) / 1000
    return asdict(parsed) | {"pcts": pcts}


MENTIONED = 5  # send-mentions: members each message mentions


async def v1_setup(port: int, tag: str, history: bool) -> tuple[str, str]:
    """Sign up a user, make a room, fill it for history; returns (token, room id)."""
    http = Http(port, 4)
    try:
        account = {"username": f"{tag}-user", "password": PASSWORD}
        token = (await http.json("POST", "/api/v1/accounts", account, None, 201))["token"]
        room = {"name": f"{tag} room", "visibility": "public"}
        room_id = (await http.json("POST", "/api/v1/rooms", room, token, 201))["id"]
        for i in range(HISTORY_MESSAGES if history else 1):
            text = {"text": f"history message {i} " * 4}
            await http.json("POST", f"/api/v1/rooms/{room_id}/messages", text, token, 201)
        page = await http.json(
            "GET", f"/api/v1/rooms/{room_id}/messages?limit=50", None, token, 200
        )
        want = 50 if history else 1
        if len(page["messages"]) != want:
            raise RuntimeError(f"history has {len(page['messages'])} messages, want {want}")
        return token, room_id
    finally:
        await http.close()


async def send_variant_body(port: int, tag: str, token: str, room_id: str, name: str) -> str:
    """The body wrk posts for send-mentions (5 members @mentioned; they join the room first)
    or send-thread (a reply in the thread of one root message)."""
    http = Http(port, 4)
    try:
        if name == "send-mentions":
            names = []
            for i in range(MENTIONED):
                account = {"username": f"{tag}-m{i}", "password": PASSWORD}
                other = (await http.json("POST", "/api/v1/accounts", account, None, 201))["token"]
                await http.json("POST", f"/api/v1/rooms/{room_id}/join", None, other, 204)
                names.append(account["username"])
            text = " ".join(f"@{n}" for n in names) + " hello world from wrk"
            return json.dumps({"text": text})
        root = await http.json(
            "POST", f"/api/v1/rooms/{room_id}/messages", {"text": "thread root"}, token, 201
        )
        return json.dumps({"text": "hello world from wrk", "thread_root": root["id"]})
    finally:
        await http.close()


def wrk_job(name: str, server: Server, tag: str) -> WrkJob:
    if server.kind == "bare_asgi":
        post = name in ("classic-post", "send", "send-mentions", "send-thread")
        return WrkJob(
            server.port,
            "/",
            lua_script(
                "POST" if post else "GET", classic.POST_BODY.decode() if post else None, None
            ),
        )
    if name == "classic-post":
        return WrkJob(server.port, "/message", lua_script("POST", classic.POST_BODY.decode(), None))
    if name == "classic-read":
        classic.seed(server.port)
        return WrkJob(server.port, "/messages", lua_script("GET", None, None))
    token, room = arun(v1_setup(server.port, tag, history=name == "history"))
    path = f"/api/v1/rooms/{room}/messages"
    if name == "send":
        return WrkJob(server.port, path, lua_script("POST", SEND_BODY, token))
    if name in ("send-mentions", "send-thread"):
        body = arun(send_variant_body(server.port, tag, token, room, name))
        return WrkJob(server.port, path, lua_script("POST", body, token))
    return WrkJob(server.port, path + "?limit=50", lua_script("GET", None, token))


def measure_wrk(
    name: str, run: int, server: Server, label: str, opts: argparse.Namespace, progress: Progress
) -> Result:
    tag = f"{name.replace('-', '')}{run}{secrets.token_hex(2)}"
    job = wrk_job(name, server, tag)
    if opts.warmup:
        run_wrk(job, opts.warmup, opts.connections, progress, f"{name} {label} warm-up")
    profile = (
        opts.py_spy / f"{name}.txt" if opts.py_spy and label == "hubbub" and run == 1 else None
    )
    spy = start_py_spy(server.pid, profile) if profile and server.proc else None
    if spy:
        time.sleep(0.5)  # attached
    before = thread_cpu(server.pid)
    w = run_wrk(job, opts.duration, opts.connections, progress, f"{name} {label}")
    cpu = cpu_between(before, thread_cpu(server.pid))
    if spy:
        stop_py_spy(spy, profile)
    pcts = w["pcts"]
    result = Result(
        scenario=name,
        run=run,
        server=label,
        unit="req/s",
        throughput=w["rps"],
        p50_ms=pcts.get("50", w["p50_ms"]),
        p95_ms=pcts.get("95", float("nan")),
        p99_ms=pcts.get("99", w["p99_ms"]),
        cpu_us_per_op=cpu / w["requests"] * 1e6 if server.proc and w["requests"] else None,
        rss_mb=rss_mb(server),
        ops=w["requests"],
        errors=w["non_2xx"],
        curve_ms={p: v for p, v in pcts.items()},
        extra={"socket_errors": w["socket_errors"]},
    )
    progress.console.print(result_line(result))
    return result
