"""The container image (Dockerfile), built and run with podman on a machine where no container
registry is reachable: `make test-image` (not part of `make test`: a first run takes a few
minutes).

The base image is made here: tests/deploy/debian-base.sh debootstraps Debian (this machine's
release) from the Debian mirror and imports it into podman, cached between runs. The wheelhouse
is filled by that base's own pip (so environment markers match its Python) with the host's
network, which reaches PyPI; the image is then built with no network at all
(`--network none`, `--build-arg WHEELS_ONLY=1`), which shows its runtime stage needs none.
Containers publish ports on 127.0.0.1 only (slirp4netns forwards them in user space), and the
cluster nodes share the host's network to reach the harness's PostgreSQL and Redis on
127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.backends import Databases, unavailable
from tests.server_process import free_port

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = ROOT / "deploy" / "wheelhouse"
BASE_SCRIPT = Path(__file__).with_name("debian-base.sh")
CACHE = Path(
    os.environ.get("HUBBUB_IMAGE_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hubbub-image"
)
IMAGE = "localhost/hubbub:image-test"
GRACEFUL_SECONDS = 2  # HUBBUB_GRACEFUL_SHUTDOWN_SECONDS' default, what the docs promise
PASSWORD = "correct horse"

pytestmark = pytest.mark.timeout(900)

# Flags every podman command here needs on this kind of machine, passed explicitly rather than
# left to the host's containers.conf:
PODMAN = [
    "podman",
    # crun fails on these cgroups ("cgroups in hybrid mode not supported"); runc works.
    "--runtime",
    "runc",
]
LIMITS = [
    # podman's default ulimits fail here ("setrlimit RLIMIT_NOFILE: Operation not permitted").
    *("--ulimit", "nofile=20000:20000"),
    *("--ulimit", "nproc=4096:4096"),
]


def podman(*args: str, timeout: float = 120, check: bool = True) -> str:
    done = subprocess.run(
        [*PODMAN, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done.stdout.strip()


def base_python(base: str) -> str:
    return podman(
        "run", "--rm", *LIMITS, "--network", "none", base, "python3", "-c",
        "import platform; print(platform.python_version())",
    )  # fmt: skip


def fill_wheelhouse(base: str) -> None:
    """Wheels of hubbub's dependencies (and its build backend) for the base's Python, made by
    the base's own pip on the host's network, into deploy/wheelhouse/."""
    deps = [*_project()["dependencies"], "setuptools>=77", "wheel"]
    for old in WHEELHOUSE.glob("*.whl"):
        old.unlink()
    pip_cache = CACHE / "pip"
    pip_cache.mkdir(parents=True, exist_ok=True)
    ca = "/etc/ssl/certs/ca-certificates.crt"
    mounts = ["-v", f"{WHEELHOUSE}:/out", "-v", f"{pip_cache}:/root/.cache/pip"]
    env = ["-e", "PIP_DISABLE_PIP_VERSION_CHECK=1"]
    if Path(ca).exists():  # the host's trust store, for a network that inspects TLS
        mounts += ["-v", f"{ca}:/etc/host-ca.crt:ro"]
        env += ["-e", "PIP_CERT=/etc/host-ca.crt"]
    for name in ("PIP_INDEX_URL", "PIP_DEFAULT_TIMEOUT"):
        if os.environ.get(name):
            env += ["-e", f"{name}={os.environ[name]}"]
    # --use-pep517: a dependency published only as an sdist with a bare setup.py (http-ece,
    # for Web Push) is built in an isolated environment that has `wheel`; the base's pip
    # would otherwise run `setup.py bdist_wheel` in a venv without it, and fail.
    script = 'python3 -m venv /tmp/v && /tmp/v/bin/pip wheel --quiet --use-pep517 -w /out "$@"'
    podman(
        "run", "--rm", *LIMITS, "--network", "host", *mounts, *env, base,
        "sh", "-c", script, "pip", *deps, timeout=600,
    )  # fmt: skip


def _project() -> dict[str, Any]:
    import tomllib

    with open(ROOT / "pyproject.toml", "rb") as f:
        project: dict[str, Any] = tomllib.load(f)["project"]
    return project


@pytest.fixture(scope="module")
def image() -> str:
    """The image, built from this checkout on a debootstrapped Debian base."""
    if os.geteuid() != 0:
        unavailable("the image test", "run it as root (debootstrap and rootful podman)")
    for tool, package in (("podman", "podman"), ("debootstrap", "debootstrap"), ("runc", "runc")):
        if shutil.which(tool) is None:
            unavailable(tool, f"apt-get install {package}")
    if shutil.which("slirp4netns") is None:
        unavailable("slirp4netns", "apt-get install slirp4netns")
    started = time.monotonic()
    base = subprocess.run(
        ["bash", str(BASE_SCRIPT)], capture_output=True, text=True, timeout=900, check=True
    ).stdout.strip()
    print(f"base {base} (Python {base_python(base)}): {time.monotonic() - started:.0f} s")
    fill_wheelhouse(base)
    print(f"wheelhouse: {time.monotonic() - started:.0f} s")
    previous = podman("image", "inspect", "--format", "{{.Id}}", IMAGE, check=False)
    podman(
        "build", *LIMITS,
        "--network", "none",  # the build needs no network: the wheels are in the context
        "--format", "docker",  # OCI images have no HEALTHCHECK
        # No intermediate images left behind (and nothing cached to go stale).
        "--layers=false",
        "--build-arg", f"BASE_IMAGE={base}",
        "--build-arg", "WHEELS_ONLY=1",
        "-t", IMAGE, str(ROOT),
        timeout=600,
    )  # fmt: skip
    print(f"image built: {time.monotonic() - started:.0f} s")
    if previous and previous != podman("image", "inspect", "--format", "{{.Id}}", IMAGE):
        podman("rmi", previous, check=False)  # the last run's build, untagged by this one
    return IMAGE


class Container:
    """One `podman run -d` of the image; removed (with its anonymous volumes) when done."""

    def __init__(self, image: str, *, env: dict[str, str], volume: str | None = None) -> None:
        self.name = f"hubbub-test-{uuid.uuid4().hex[:10]}"
        self.image = image
        self.env = env
        self.volume = volume

    def run(self, *network: str) -> Container:
        args = ["run", "-d", "--name", self.name, *LIMITS, *network]
        for key, value in self.env.items():
            args += ["-e", f"{key}={value}"]
        if self.volume:
            args += ["-v", f"{self.volume}:/data"]
        podman(*args, self.image)
        return self

    def exec(self, *command: str) -> str:
        return podman("exec", self.name, *command)

    def inspect(self, template: str) -> str:
        return podman("inspect", "--format", template, self.name)

    def logs(self) -> str:
        done = subprocess.run(
            [*PODMAN, "logs", self.name], capture_output=True, text=True, timeout=30, check=False
        )
        return done.stdout + done.stderr

    def remove(self) -> None:
        podman("rm", "--force", "--volumes", "--time", "0", self.name, check=False)


@contextlib.contextmanager
def published(image: str, volume: str, **env: str) -> Iterator[tuple[Container, str]]:
    """A container of `image` with `volume` at /data and its port 8081 published on
    127.0.0.1 (only); yields it and its URL once /healthz answers."""
    port = free_port()
    container = Container(image, env=env, volume=volume).run(
        "--network", "slirp4netns:port_handler=slirp4netns", "-p", f"127.0.0.1:{port}:8081"
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, container)
        yield container, url
    finally:
        container.remove()


def wait_ready(url: str, container: Container, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/healthz", timeout=2, trust_env=False).status_code == 200:
                return
        time.sleep(0.25)
    raise AssertionError(f"{container.name} did not become ready:\n{container.logs()}")


@pytest.fixture
def volume() -> Iterator[str]:
    name = f"hubbub-test-{uuid.uuid4().hex[:10]}"
    podman("volume", "create", name)
    try:
        yield name
    finally:
        podman("volume", "rm", "--force", name, check=False)


def sign_up(http: httpx.Client, name: str) -> dict[str, str]:
    r = http.post("/api/v1/accounts", json={"username": name, "password": PASSWORD})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


# -- one node -------------------------------------------------------------------------------


def test_posts_and_reads_through_the_published_port_and_a_new_container_keeps_them(
    image: str, volume: str
) -> None:
    with published(image, volume) as (_, url), httpx.Client(base_url=url, trust_env=False) as http:
        assert http.post("/message", json={"user": "box", "text": "in a container"}).json() == {
            "ok": True
        }
        assert http.get("/messages").json()["messages"][-1]["text"] == "in a container"
    # The first container is gone; a new one on the same volume has the message.
    with published(image, volume) as (_, url), httpx.Client(base_url=url, trust_env=False) as http:
        assert [m["text"] for m in http.get("/messages").json()["messages"]] == ["in a container"]
        assert http.get("/users").json() == {"users": ["box"]}


def test_it_runs_as_an_unprivileged_user_that_owns_the_data(image: str, volume: str) -> None:
    assert podman("image", "inspect", "--format", "{{.Config.User}}", image) == "10001:10001"
    with published(image, volume) as (container, _):
        # PID 1 is hubbub itself (no shell in between), so it gets the stop signal.
        status = container.exec("cat", "/proc/1/status")
        uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
        assert uids == ["10001"] * 4, status
        assert container.exec("cat", "/proc/1/cmdline").split("\0")[:2] == [
            "/opt/hubbub/bin/python3",
            "/opt/hubbub/bin/hubbub",
        ]
        assert container.exec("stat", "-c", "%u:%g %n", "/data/hubbub.db") == (
            "10001:10001 /data/hubbub.db"
        )
        with pytest.raises(AssertionError, match="Permission denied"):
            container.exec("touch", "/opt/hubbub/bin/intruder")


def test_the_healthcheck_probes_healthz(image: str, volume: str) -> None:
    probe = podman("image", "inspect", "--format", "{{json .Config.Healthcheck}}", image)
    check = json.loads(probe)
    assert "/healthz" in " ".join(check["Test"])
    with published(image, volume) as (container, _):
        podman("healthcheck", "run", container.name)  # exits 0 only when healthy


def test_podman_stop_ends_it_cleanly_within_the_graceful_shutdown(image: str, volume: str) -> None:
    with published(image, volume) as (container, url):
        http = httpx.Client(base_url=url, trust_env=False, timeout=10)
        auth = sign_up(http, "stopper")
        # An open SSE stream: shutdown must not wait for the client to leave.
        stream_ended = threading.Event()

        def listen() -> None:
            with contextlib.suppress(httpx.HTTPError):
                headers = {**auth, "Accept": "text/event-stream"}
                with http.stream("GET", "/api/v1/events", headers=headers, timeout=30) as r:
                    for _ in r.iter_bytes():
                        pass
            stream_ended.set()

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        time.sleep(1)  # let the stream open (a test of stopping, not of streams)
        started = time.monotonic()
        podman("stop", "--time", "10", container.name, timeout=30)
        took = time.monotonic() - started
        assert container.inspect("{{.State.ExitCode}}") == "0", container.logs()
        assert took < GRACEFUL_SECONDS + 3, f"stop took {took:.1f} s"
        assert stream_ended.wait(5)
        assert "Finished server process" in container.logs()
        http.close()


# -- cluster mode: the harness's PostgreSQL and Redis -----------------------------------------


def test_two_containers_form_a_cluster_on_postgres_and_redis(
    image: str, pg_databases: Databases, redis_url: str
) -> None:
    database = pg_databases.create_empty()
    nodes: list[tuple[Container, str]] = []
    try:
        for _ in range(2):
            port = free_port()
            env = {
                "HUBBUB_HOST": "127.0.0.1",  # the host's network: loopback only
                "HUBBUB_PORT": str(port),
                "HUBBUB_DATABASE_URL": database,
                "HUBBUB_REDIS_URL": redis_url,
                # Only Redis can carry an event between the nodes within the test.
                "HUBBUB_EVENT_POLL_SECONDS": "3600",
                "HUBBUB_PASSWORD_HASHING": "fast",
                # Each container keeps files in its own /data: said to be shared so that
                # serve starts (this test uploads none).
                "HUBBUB_FILES_SHARED": "true",
            }
            container = Container(image, env=env).run("--network", "host")
            nodes.append((container, f"http://127.0.0.1:{port}"))
        for container, url in nodes:
            wait_ready(url, container)
        (_, one), (_, two) = nodes
        with (
            httpx.Client(base_url=one, trust_env=False, timeout=30) as http1,
            httpx.Client(base_url=two, trust_env=False, timeout=30) as http2,
        ):
            for http in (http1, http2):
                ready = http.get("/readyz").json()
                assert ready["status"] == "ready", ready
                assert ready["checks"]["bus"] == "connected"
            auth = sign_up(http1, "clustered")
            cursor = http2.get("/api/v1/events", headers=auth).json()["next"]
            page: dict[str, Any] = {}

            def poll() -> None:
                r = http2.get(f"/api/v1/events?since={cursor}&timeout=20", headers=auth)
                page.update(r.json())

            poller = threading.Thread(target=poll)
            poller.start()
            time.sleep(0.5)  # the long-poll is waiting on node two
            sent = http1.post(
                "/api/v1/rooms/general/messages", json={"text": "across nodes"}, headers=auth
            )
            assert sent.status_code == 201, sent.text
            poller.join(25)
            texts = [e["data"].get("text") for e in page.get("events", [])]
            assert "across nodes" in texts, page
            # One database: the lobby's history on node two has it too.
            assert http2.get("/messages").json()["messages"][-1]["text"] == "across nodes"
    finally:
        for container, _ in nodes:
            container.remove()
        pg_databases.drop(database)
