"""The deployment files agree with each other, the settings and the docs (no server needed;
test_image.py and test_proxies.py run them)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from hubbub.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {f"HUBBUB_{f.name.upper()}" for f in dataclasses.fields(Settings)}


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_the_docs_show_the_proxy_files_exactly() -> None:
    docs = (ROOT / "docs" / "deploy.md").read_text()
    for name, fence in (("nginx.conf", "nginx"), ("Caddyfile", "caddyfile")):
        body = (ROOT / "deploy" / name).read_text()
        assert f"```{fence}\n{body}```" in docs, f"docs/deploy.md should show deploy/{name}"


def test_the_dockerfile_sets_only_real_settings_and_runs_unprivileged() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert set(re.findall(r"\b(HUBBUB_[A-Z_]+)=", dockerfile)) <= SETTINGS
    assert re.search(r"^ARG BASE_IMAGE=python:3\.\d+-slim$", dockerfile, re.MULTILINE)
    assert re.search(r"^USER 10001:10001$", dockerfile, re.MULTILINE)
    assert re.search(r"^EXPOSE 8081$", dockerfile, re.MULTILINE)
    assert re.search(r'^VOLUME \["/data"\]$', dockerfile, re.MULTILINE)
    assert "/healthz" in dockerfile.split("HEALTHCHECK", 1)[1]
    # Exec form: hubbub is PID 1 and gets SIGTERM itself.
    assert re.search(r'^ENTRYPOINT \["hubbub"\]$', dockerfile, re.MULTILINE)


def test_the_build_context_holds_only_what_the_image_needs() -> None:
    ignore = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line]
    ignore = [line for line in ignore if not line.startswith("#")]
    assert ignore[0] == "*", "an allowlist: nothing goes in unless named"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "LICENSE", "src", "deploy/wheelhouse"}
    for copied in re.findall(r"^COPY (?!--from)(.+) \S+$", (ROOT / "Dockerfile").read_text(), re.M):
        for source in copied.split():
            assert source.rstrip("/") in allowed, source


def test_compose_runs_one_node_by_default_and_a_cluster_behind_caddy_by_profile() -> None:
    services = compose()["services"]
    default = [name for name, s in services.items() if "profiles" not in s]
    assert default == ["hubbub"]
    assert services["hubbub"]["volumes"] == ["hubbub-data:/data"]
    assert services["hubbub"]["ports"] == ["127.0.0.1:8081:8081"]
    cluster = {name for name, s in services.items() if s.get("profiles") == ["cluster"]}
    assert cluster == {"postgres", "redis", "node-1", "node-2", "caddy"}
    for service in services.values():
        for key in service.get("environment", {}):
            assert (
                not key.startswith("HUBBUB_")
                or key in SETTINGS
                or key
                in {
                    "HUBBUB_DOMAIN",  # the Caddyfile's, not hubbub's
                    "HUBBUB_UPSTREAMS",
                }
            ), key


def test_compose_nodes_trust_caddy_alone_and_caddy_proxies_to_both() -> None:
    services = compose()["services"]
    caddy = services["caddy"]
    address = caddy["networks"]["cluster"]["ipv4_address"]
    for node in ("node-1", "node-2"):
        env = services[node]["environment"]
        assert env["HUBBUB_TRUSTED_PROXIES"] == address
        assert env["HUBBUB_DATABASE_URL"].startswith("postgresql://")
        assert env["HUBBUB_REDIS_URL"].startswith("redis://redis:")
    assert caddy["environment"]["HUBBUB_UPSTREAMS"].split() == ["node-1:8081", "node-2:8081"]
    mounted = caddy["volumes"][0].split(":")[0]
    assert (ROOT / mounted).resolve() == (ROOT / "deploy" / "Caddyfile").resolve()
