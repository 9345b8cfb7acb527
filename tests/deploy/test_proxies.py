"""deploy/nginx.conf and deploy/Caddyfile, run by Debian's nginx and caddy in front of a real
`hubbub serve`, all on 127.0.0.1.

The files are used as they are: nginx's with its listen addresses, the upstream's port and the
certificate paths replaced (each must appear exactly once, so the test notices if the file
drifts), Caddy's through its own environment placeholders (HUBBUB_DOMAIN, HUBBUB_UPSTREAMS)
inside a test wrapper that adds global options only: no admin endpoint, certificates from
Caddy's local CA (`local_certs`, what `tls internal` does per site), loopback ports. When the
tests run as root, both proxies run as `nobody`.

Client addresses: the clients connect from other loopback addresses (127.0.0.2 and up), so the
address a proxy forwards differs from the proxy's own (127.0.0.1), which hubbub trusts.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from websockets.asyncio.client import connect

from tests.backends import unavailable
from tests.certificates import make_certificate
from tests.server_process import ServerProcess, free_port

pytestmark = pytest.mark.anyio

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
MAX_BODY_BYTES = 65536  # HUBBUB_MAX_BODY_BYTES' default, which the files are set against
LONGEST_POLL_SECONDS = 60  # the API's maximum long-poll wait (`timeout` <= 60; not a setting)
PASSWORD = "correct horse"
SECURITY_HEADERS = (
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
)
# Loopback addresses the clients of each proxy connect from (two each).
CLIENTS = {"nginx": ("127.0.0.2", "127.0.0.3"), "caddy": ("127.0.0.4", "127.0.0.5")}


def as_nobody(directory: Path) -> list[str]:
    """The command prefix that runs a proxy unprivileged: as `nobody`, owning `directory`
    (which must be reachable by nobody: not under pytest's private temp dir), when the tests
    run as root; nothing otherwise."""
    if os.geteuid() != 0:
        return []
    for path in [directory, *directory.rglob("*")]:
        shutil.chown(path, "nobody", "nogroup")
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]


@dataclass
class Proxy:
    name: str
    port: int
    verify: ssl.SSLContext
    proc: subprocess.Popen[bytes]
    log: Path
    clients: tuple[str, str]
    config: str = field(repr=False)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def client(self, source: str | None = None, **kwargs: Any) -> httpx.Client:
        """An HTTP client of this proxy, connecting from `source` (a loopback address)."""
        transport = httpx.HTTPTransport(verify=self.verify, local_address=source)
        return httpx.Client(
            base_url=self.url, transport=transport, trust_env=False, timeout=10, **kwargs
        )

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with (
                contextlib.suppress(httpx.TransportError, ssl.SSLError, OSError),
                self.client() as http,
            ):
                if http.get("/healthz").status_code == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def render_nginx(
    site: str, *, upstream: int, listen: int, redirect: int, cert: Path, key: Path
) -> str:
    replacements = {
        "server 127.0.0.1:8081;": f"server 127.0.0.1:{upstream};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{listen} ssl http2;",
        "listen 80;": f"listen 127.0.0.1:{redirect};",
        "/etc/letsencrypt/live/chat.example.com/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/chat.example.com/privkey.pem": str(key),
    }
    for old, new in replacements.items():
        assert site.count(old) == 1, f"deploy/nginx.conf should say {old!r} once"
        site = site.replace(old, new)
    return site


def start_nginx(directory: Path, upstream: int) -> Proxy:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        unavailable("nginx", "apt-get install nginx")
    cert, key = make_certificate(directory)
    port = free_port()
    site = render_nginx(
        (DEPLOY / "nginx.conf").read_text(),
        upstream=upstream,
        listen=port,
        redirect=free_port(),
        cert=cert,
        key=key,
    )
    (directory / "hubbub.conf").write_text(site)
    d = directory
    (directory / "nginx.conf").write_text(
        f"""daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/hubbub.conf;
}}
"""
    )
    log = directory / "error.log"
    log.touch()
    command = [binary, "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(log)]
    with log.open("ab") as err:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [*as_nobody(directory), *command], stdout=subprocess.DEVNULL, stderr=err
        )
    proxy = Proxy(
        "nginx",
        port,
        ssl.create_default_context(cafile=str(cert)),
        proc,
        log,
        CLIENTS["nginx"],
        site,
    )
    proxy.wait_ready()
    return proxy


def start_caddy(directory: Path, upstream: int) -> Proxy:
    binary = shutil.which("caddy")
    if binary is None:
        unavailable("Caddy", "apt-get install caddy")
    assert binary is not None
    port = free_port()
    (directory / "Caddyfile").write_text(
        f"""{{
	admin off
	local_certs
	skip_install_trust
	default_bind 127.0.0.1
	http_port {free_port()}
	https_port {port}
	storage file_system {directory}/storage
}}
import {directory / "deploy.Caddyfile"}
"""
    )
    shutil.copyfile(DEPLOY / "Caddyfile", directory / "deploy.Caddyfile")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(directory),
        "XDG_DATA_HOME": str(directory / "data"),
        "XDG_CONFIG_HOME": str(directory / "config"),
        "HUBBUB_DOMAIN": "127.0.0.1",
        "HUBBUB_UPSTREAMS": f"127.0.0.1:{upstream}",
    }
    log = directory / "caddy.log"
    command = [binary, "run", "--config", str(directory / "Caddyfile"), "--adapter", "caddyfile"]
    with log.open("ab") as err:
        proc = subprocess.Popen(
            [*as_nobody(directory), *command], env=env, stdout=subprocess.DEVNULL, stderr=err
        )
    root = directory / "storage" / "pki" / "authorities" / "local" / "root.crt"
    deadline = time.monotonic() + 20
    while not root.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert root.exists(), f"caddy made no local CA:\n{log.read_text()}"
    time.sleep(0.2)  # the file is written, not necessarily complete: read it once settled
    proxy = Proxy(
        "caddy",
        port,
        ssl.create_default_context(cafile=str(root)),
        proc,
        log,
        CLIENTS["caddy"],
        (DEPLOY / "Caddyfile").read_text(),
    )
    proxy.wait_ready()
    return proxy


@pytest.fixture(scope="module")
def hubbub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server behind both proxies: it trusts 127.0.0.1 (where the proxies connect from),
    allows 3 failed sign-ins per address an hour, and serves /metrics on its public port
    (so that only a proxy can be what hides it)."""
    directory = tmp_path_factory.mktemp("behind-proxies")
    env = {
        "HUBBUB_TRUSTED_PROXIES": "127.0.0.1",
        # An hour: the limiter's sliding window forgives a little at each window's end.
        "HUBBUB_RATE_LIMITS": "sign_in=3/hour;sign_in_account=1000/minute",
        "HUBBUB_METRICS_PUBLIC": "true",
    }
    with ServerProcess(
        f"sqlite:///{directory / 'hubbub.db'}", env=env, log_path=directory / "hubbub.log"
    ) as server:
        yield server


@pytest.fixture(scope="module")
def nginx(hubbub: ServerProcess) -> Iterator[Proxy]:
    with proxy_directory("nginx") as directory:
        proxy = start_nginx(directory, hubbub.port)
        try:
            yield proxy
        finally:
            proxy.stop()


@pytest.fixture(scope="module")
def caddy(hubbub: ServerProcess) -> Iterator[Proxy]:
    with proxy_directory("caddy") as directory:
        proxy = start_caddy(directory, hubbub.port)
        try:
            yield proxy
        finally:
            proxy.stop()


@contextlib.contextmanager
def proxy_directory(name: str) -> Iterator[Path]:
    """A fresh directory in /tmp for one proxy's files, removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix=f"hubbub-{name}-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(params=["nginx", "caddy"])
def proxy(request: pytest.FixtureRequest) -> Proxy:
    found: Proxy = request.getfixturevalue(request.param)
    return found


_users = iter(range(1, 1_000_000))


def sign_up(http: httpx.Client, prefix: str) -> dict[str, str]:
    r = http.post(
        "/api/v1/accounts", json={"username": f"{prefix}_{next(_users)}", "password": PASSWORD}
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


# -- streams --------------------------------------------------------------------------------


async def test_a_websocket_upgrades_and_resumes_through_the_proxy(proxy: Proxy) -> None:
    with proxy.client() as http:
        auth = sign_up(http, proxy.name)

        def ticket() -> str:
            return str(http.post("/api/v1/stream-tickets", headers=auth).json()["ticket"])

        base = f"wss://127.0.0.1:{proxy.port}/api/v1/stream"
        async with connect(f"{base}?ticket={ticket()}", ssl=proxy.verify, open_timeout=10) as ws:
            hello = json.loads(await ws.recv(decode=True))
            assert hello["type"] == "hello"
        # Offline now: a message is sent; resuming from the cursor delivers it.
        sent = http.post(
            "/api/v1/rooms/general/messages",
            json={"text": f"while away ({proxy.name})"},
            headers=auth,
        )
        assert sent.status_code == 201, sent.text
        url = f"{base}?ticket={ticket()}&since={hello['cursor']}"
        async with connect(url, ssl=proxy.verify, open_timeout=10) as ws:
            with anyio.fail_after(10):
                while (event := json.loads(await ws.recv(decode=True)))["type"] != (
                    "message.created"
                ):
                    pass
        assert event["data"]["id"] == sent.json()["id"]


def test_sse_events_pass_unbuffered(proxy: Proxy) -> None:
    with proxy.client() as http, proxy.client() as sender:
        auth = sign_up(http, proxy.name)
        headers = {**auth, "Accept": "text/event-stream"}
        started = time.monotonic()
        with http.stream("GET", "/api/v1/events", headers=headers) as stream:
            assert stream.status_code == 200
            lines = stream.iter_lines()
            first = next(line for line in lines if line.startswith("data:"))
            assert time.monotonic() - started < 1.0, "the hello record was held back"
            assert json.loads(first.removeprefix("data:"))["type"] == "hello"
            sent_at = time.monotonic()
            text = f"live through {proxy.name}"
            r = sender.post("/api/v1/rooms/general/messages", json={"text": text}, headers=auth)
            assert r.status_code == 201, r.text
            for line in lines:
                if line.startswith("data:") and text in line:
                    break
            assert time.monotonic() - sent_at < 1.0, "the event was held back"


@pytest.mark.timeout(LONGEST_POLL_SECONDS + 120)
def test_a_long_poll_of_the_longest_wait_passes_through_both_proxies(
    nginx: Proxy, caddy: Proxy
) -> None:
    """The API's longest long-poll (60 s, fixed) gets hubbub's answer through each proxy, not
    a proxy timeout. Both run at once, so this costs one wait. That proves each proxy waits
    at least 60 s as configured; that nginx's read timeout for the route is above 60 s with
    room to spare is checked in its file, and Caddy's file sets none (Caddy has no default)."""
    assert "read_timeout" not in caddy.config
    assert "response_header_timeout" not in caddy.config
    events_location = nginx.config.split("location = /api/v1/events", 1)[1].split("}", 1)[0]
    read_timeout = int(events_location.split("proxy_read_timeout", 1)[1].split("s;", 1)[0])
    assert read_timeout > LONGEST_POLL_SECONDS
    results: dict[str, tuple[int, float, Any]] = {}
    # One user with nothing to hear for the whole wait, so neither poll ends early: it shares
    # no room with anyone (out of the lobby, where others' joins and presence would reach
    # it), and both polls start from the same cursor.
    with nginx.client() as http:
        auth = sign_up(http, "patient")
        assert http.post("/api/v1/rooms/general/leave", headers=auth).status_code == 204
        cursor = http.get("/api/v1/events", headers=auth).json()["next"]

    def poll(proxy: Proxy) -> None:
        with proxy.client() as http:
            started = time.monotonic()
            r = http.get(
                "/api/v1/events",
                params={"since": cursor, "timeout": LONGEST_POLL_SECONDS},
                headers=auth,
                timeout=LONGEST_POLL_SECONDS + 30,
            )
            results[proxy.name] = (r.status_code, time.monotonic() - started, r.json())

    threads = [threading.Thread(target=poll, args=(p,)) for p in (nginx, caddy)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(LONGEST_POLL_SECONDS + 40)
    for name in ("nginx", "caddy"):
        status, took, page = results[name]
        assert status == 200, (name, page)
        assert page["events"] == [], (name, page)
        assert took >= LONGEST_POLL_SECONDS, (name, took)


# -- requests -------------------------------------------------------------------------------


def padded_post(size: int) -> bytes:
    """A valid classic post of exactly `size` bytes (JSON allows trailing whitespace)."""
    body = b'{"user": "big", "text": "at the limit"}'
    return body + b" " * (size - len(body))


def test_a_body_at_the_limit_passes_and_one_over_gets_hubbubs_own_413(proxy: Proxy) -> None:
    with proxy.client() as http:
        json_type = {"Content-Type": "application/json"}
        at_limit = http.post("/message", content=padded_post(MAX_BODY_BYTES), headers=json_type)
        assert at_limit.status_code == 200, at_limit.text
        over = http.post("/message", content=padded_post(MAX_BODY_BYTES + 1), headers=json_type)
        assert over.status_code == 413
        assert over.headers["content-type"].startswith("application/json")  # not a proxy page
        assert over.json()["code"] == "body_too_large"


def test_the_proxys_x_forwarded_for_is_the_client_and_a_clients_own_is_overwritten(
    proxy: Proxy,
) -> None:
    first, second = proxy.clients
    wrong = {"username": "nobody", "password": "wrong password"}

    def sign_in(source: str, **headers: str) -> int:
        with proxy.client(source) as http:
            return http.post("/api/v1/sessions", json=wrong, headers=headers).status_code

    # Three failures per address: the first client uses its allowance up.
    assert [sign_in(first) for _ in range(4)] == [401, 401, 401, 429]
    # Another client behind the same proxy has its own: hubbub believed the proxy's header
    # (without it both would be the proxy, 127.0.0.1, and share one allowance).
    assert sign_in(second) == 401
    # The first client claiming to be someone else is still itself: the proxy overwrote it.
    assert sign_in(first, **{"X-Forwarded-For": "203.0.113.9"}) == 429
    assert sign_in(first, **{"X-Forwarded-For": f"{second}, 203.0.113.9"}) == 429


def test_security_headers_arrive_intact(proxy: Proxy, hubbub: ServerProcess) -> None:
    direct = httpx.get(f"{hubbub.url}/", trust_env=False)
    with proxy.client() as http:
        proxied = http.get("/")
        api = http.get("/api/v1/me")  # a refusal from the API, through the proxy
    assert proxied.status_code == direct.status_code == 200
    for name in SECURITY_HEADERS:
        assert proxied.headers.get(name) == direct.headers[name], name
    # The proxy terminates TLS, so it is the one to say: HTTPS only from now on.
    assert proxied.headers["strict-transport-security"].startswith("max-age=")
    assert api.status_code == 401
    assert api.headers["x-content-type-options"] == "nosniff"
    assert api.headers["referrer-policy"] == "no-referrer"


def test_metrics_are_not_exposed_through_the_proxy(proxy: Proxy, hubbub: ServerProcess) -> None:
    # hubbub serves them on its port here (HUBBUB_METRICS_PUBLIC=true): the proxy hides them.
    assert httpx.get(f"{hubbub.url}/metrics", trust_env=False).status_code == 200
    with proxy.client() as http:
        assert http.get("/metrics").status_code == 404
        assert b"hubbub_" not in http.get("/metrics").content
