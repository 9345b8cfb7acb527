"""`hubbub doctor`: check a deployment's settings and surroundings, and say in plain words
what is wrong and how to fix it.

It reads the same settings as `hubbub serve` (HUBBUB_* and the flags it is given) and looks
at what it can reach from where it runs: the database, Redis, the certificate files, the data
directory's disk, the process limits. It sends no request to a running server and sees no
client, so of the trusted proxies it checks what the settings imply: hubbub listening on
loopback only can only ever see local peers, so a trusted list with no loopback address can
never match one; trusting every address lets any client pick its own; a public https
address served as plain HTTP on loopback means a proxy is in front, which nobody trusts.

Each check is one function from a Context to a list of findings, listed in CHECKS. A new
setting that can be wrong (file storage, SMTP, push keys) gets one more function there.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import resource
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import redis.asyncio

from hubbub import mail, serving
from hubbub.config import ConfigError, Settings
from hubbub.logs import redact_url
from hubbub.upgrades import DatabaseUnreachable, migration_plan

__all__ = ["CHECKS", "Context", "Finding", "Report", "diagnose"]

Status = Literal["ok", "warning", "problem"]

# Below this much free space where the SQLite database lives, doctor reports a problem.
DISK_FREE_MIN_MB = 1024
REDIS_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    status: Status
    message: str
    fix: str = ""


@dataclass(frozen=True, slots=True)
class Context:
    settings: Settings
    disk_free_min_mb: int = DISK_FREE_MIN_MB


@dataclass(frozen=True, slots=True)
class Report:
    findings: tuple[Finding, ...]

    @property
    def problems(self) -> int:
        return sum(f.status == "problem" for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.status == "warning" for f in self.findings)

    @property
    def is_ok(self) -> bool:
        """No problems (warnings are advice: the server works)."""
        return self.problems == 0

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.is_ok,
            "problems": self.problems,
            "warnings": self.warnings,
            "checks": [asdict(f) for f in self.findings],
        }


Check = Callable[[Context], Awaitable[list[Finding]]]


async def diagnose(context: Context) -> Report:
    """Run every check (one after another: each is quick, and some share the database)."""
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(await check(context))
    return Report(tuple(findings))


# -- the database -----------------------------------------------------------------------------


async def check_database(context: Context) -> list[Finding]:
    settings = context.settings
    where = (
        str(settings.sqlite_path.resolve())
        if settings.sqlite_path
        else redact_url(settings.database_url)
    )
    try:
        plan = await migration_plan(settings)
    except DatabaseUnreachable as exc:
        return [
            Finding(
                "database",
                "problem",
                f"cannot reach the database at {where}: {exc}",
                "start the database, or correct HUBBUB_DATABASE_URL (host, port, user, "
                "password, database name)",
            )
        ]
    if settings.sqlite_path is not None:
        problem = _sqlite_directory_problem(settings.sqlite_path)
        if problem:
            return [Finding("database", "problem", problem, _SQLITE_FIX)]
    if plan.unknown:
        return [
            Finding(
                "database",
                "problem",
                f"the database at {where} was migrated by a newer hubbub (migrations "
                f"{', '.join(map(str, plan.unknown))} are unknown to this one)",
                "run the release that migrated it; going back means restoring a backup",
            )
        ]
    if not plan.exists:
        return [
            Finding(
                "database",
                "ok",
                f"no database yet at {where}; `hubbub serve` (or `hubbub migrate`) makes it",
            )
        ]
    if plan.pending:
        names = ", ".join(f"{m.version:04d} {m.name}" for m in plan.pending)
        rolling = "" if plan.allows_rolling_restart else " with every node stopped"
        return [
            Finding(
                "database",
                "problem",
                f"the database at {where} needs migrations this hubbub ships: {names}",
                f"back it up, then run `hubbub migrate`{rolling} (`hubbub serve` applies "
                "them on start); docs/deploy.md, Upgrading",
            )
        ]
    return [Finding("database", "ok", f"{where} is reachable and its schema is current")]


_SQLITE_FIX = (
    "make the directory exist and belong to the user hubbub runs as, or point "
    "HUBBUB_DATABASE_URL elsewhere"
)


def _sqlite_directory_problem(path: Path) -> str:
    """Why hubbub could not keep its SQLite files in `path`'s directory, or ''. SQLite in WAL
    mode writes beside the database (-wal, -shm), so the directory must be writable."""
    directory = path.resolve().parent
    existing = directory
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a directory, so {directory} cannot be made"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable by this user, so hubbub cannot keep {path.name} there"
    return ""


# -- Redis ------------------------------------------------------------------------------------


async def check_redis(context: Context) -> list[Finding]:
    url = context.settings.redis_url
    if not url:
        return [Finding("redis", "ok", "not configured: one node (HUBBUB_REDIS_URL unset)")]
    client = redis.asyncio.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )
    try:
        await asyncio.wait_for(_ping(client), REDIS_TIMEOUT_SECONDS + 1)
    except (redis.RedisError, OSError, TimeoutError) as exc:
        return [
            Finding(
                "redis",
                "problem",
                f"cannot reach Redis at {redact_url(url)}: {str(exc) or type(exc).__name__}",
                "start Redis, or correct HUBBUB_REDIS_URL; without it nodes still serve, but "
                "live events reach other nodes only by the database poll (1 s late)",
            )
        ]
    finally:
        await client.aclose()
    return [Finding("redis", "ok", f"{redact_url(url)} answers")]


async def _ping(client: redis.asyncio.Redis) -> None:
    reply = client.ping()  # typed for the sync client too: awaitable here
    if not isinstance(reply, bool):
        await reply


async def check_smtp(context: Context) -> list[Finding]:
    target = context.settings.smtp
    if target is None:
        return [Finding("smtp", "ok", "not configured: no email is sent (HUBBUB_SMTP_URL unset)")]
    where = f"{target.host}:{target.port}"
    try:
        await mail.probe(target)
    except mail.MailError as exc:
        return [
            Finding(
                "smtp",
                "problem",
                f"cannot use the mail relay at {where}: {exc}",
                "start the relay, or correct HUBBUB_SMTP_URL (host, port, user and password;"
                " smtp:// needs STARTTLS, smtps:// TLS from the first byte); until then"
                " setting an address answers 503 and digests are retried",
            )
        ]
    return [Finding("smtp", "ok", f"{where} takes a session (nothing was sent)")]


# -- links ------------------------------------------------------------------------------------


async def check_public_url(context: Context) -> list[Finding]:
    settings = context.settings
    if settings.registration == "invite" and not settings.public_url:
        return [
            Finding(
                "public URL",
                "problem",
                "sign-up is by invite (HUBBUB_REGISTRATION=invite), but HUBBUB_PUBLIC_URL is "
                f"not set: invite links would point at {settings.base_url}, which people "
                "elsewhere cannot open",
                "set HUBBUB_PUBLIC_URL to the address people use, e.g. https://chat.example.com",
            )
        ]
    if not settings.public_url:
        return [
            Finding("public URL", "ok", f"not set: links name {settings.base_url} (fine locally)")
        ]
    if settings.public_url.startswith("http://") and not _is_loopback_host(
        urlsplit(settings.public_url).hostname or ""
    ):
        return [
            Finding(
                "public URL",
                "warning",
                f"HUBBUB_PUBLIC_URL is plain http ({settings.public_url}): invite and "
                "password-reset links travel unencrypted",
                "serve HTTPS (a proxy, or HUBBUB_TLS_CERT/HUBBUB_TLS_KEY) and use https://",
            )
        ]
    return [Finding("public URL", "ok", f"links name {settings.public_url}")]


# -- trusted proxies ----------------------------------------------------------------------------


async def check_trusted_proxies(context: Context) -> list[Finding]:
    settings = context.settings
    networks = [ipaddress.ip_network(entry, strict=False) for entry in settings.trusted_proxy_list]
    if any(n.prefixlen == 0 for n in networks):
        return [
            Finding(
                "trusted proxies",
                "problem",
                f"HUBBUB_TRUSTED_PROXIES={settings.trusted_proxies} trusts every address: any "
                "client can name its own address in X-Forwarded-For and escape the sign-in "
                "rate limit",
                "list only your proxies' addresses, e.g. HUBBUB_TRUSTED_PROXIES=127.0.0.1",
            )
        ]
    loopback_only = _is_loopback_host(settings.host)
    if networks and loopback_only and not any(n.overlaps(_LOOPBACK[n.version]) for n in networks):
        return [
            Finding(
                "trusted proxies",
                "problem",
                f"hubbub listens on {settings.host} only, so every peer it sees is on this "
                f"machine, but HUBBUB_TRUSTED_PROXIES={settings.trusted_proxies} names none "
                "of them: your proxy's X-Forwarded-For is ignored and every client looks like "
                "the proxy (one sign-in rate limit for all)",
                "set HUBBUB_TRUSTED_PROXIES to the address the proxy connects from "
                "(127.0.0.1 for a proxy on this machine)",
            )
        ]
    public = urlsplit(settings.public_url) if settings.public_url else None
    behind_a_proxy = (
        public is not None
        and public.scheme == "https"
        and not _is_loopback_host(public.hostname or "")
        and not settings.tls_cert
        and loopback_only
    )
    if behind_a_proxy and not networks:
        return [
            Finding(
                "trusted proxies",
                "warning",
                f"hubbub serves plain HTTP on {settings.host} for {settings.public_url}, so a "
                "proxy stands in front, but HUBBUB_TRUSTED_PROXIES is not set: every client "
                "looks like the proxy (one sign-in rate limit for all)",
                "set HUBBUB_TRUSTED_PROXIES to the address the proxy connects from "
                "(127.0.0.1 for a proxy on this machine)",
            )
        ]
    if not networks:
        return [
            Finding(
                "trusted proxies",
                "ok",
                "none: X-Forwarded-For is ignored, each peer's own address is the client's",
            )
        ]
    return [
        Finding(
            "trusted proxies",
            "ok",
            f"X-Forwarded-For is believed from {', '.join(settings.trusted_proxy_list)} only",
        )
    ]


_LOOPBACK = {4: ipaddress.ip_network("127.0.0.0/8"), 6: ipaddress.ip_network("::1/128")}


def _is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- TLS ----------------------------------------------------------------------------------------


async def check_tls(context: Context) -> list[Finding]:
    settings = context.settings
    if not settings.tls_cert:
        return [Finding("TLS", "ok", "not served by hubbub (plain HTTP; TLS at a proxy)")]
    try:
        serving.check_tls(settings)
    except ConfigError as exc:
        return [
            Finding(
                "TLS",
                "problem",
                str(exc),
                "point HUBBUB_TLS_CERT at the PEM certificate chain and HUBBUB_TLS_KEY at "
                "its private key, both readable by hubbub",
            )
        ]
    return [Finding("TLS", "ok", f"serves HTTPS and WSS with {settings.tls_cert}")]


# -- files ----------------------------------------------------------------------------------------


async def check_files(context: Context) -> list[Finding]:
    settings = context.settings
    try:
        settings.check_shared_files()
    except ConfigError as exc:
        return [
            Finding(
                "files",
                "problem",
                str(exc),
                "HUBBUB_FILES_URL=s3://bucket/prefix, or a shared directory and "
                "HUBBUB_FILES_SHARED=true",
            )
        ]
    directory = settings.files_dir
    if directory is None:
        return [await _check_bucket(settings)]
    problem = _sqlite_directory_problem(directory / "objects")
    if problem:
        return [
            Finding(
                "files",
                "problem",
                f"uploads cannot be stored in {directory}: {problem}",
                "make the directory writable by hubbub, or point HUBBUB_FILES_URL elsewhere",
            )
        ]
    return [Finding("files", "ok", f"stored in {directory.resolve()}")]


async def _check_bucket(settings: Settings) -> Finding:
    from botocore.exceptions import BotoCoreError, ClientError

    from hubbub.blobs.s3 import S3Storage

    storage = S3Storage(settings.files_url, settings.s3_endpoint_url or None)
    try:
        await storage.check()
    except (BotoCoreError, ClientError) as exc:
        return Finding(
            "files",
            "problem",
            f"{settings.files_url} cannot be used: {exc}",
            "check that the bucket exists, HUBBUB_S3_ENDPOINT_URL, and the AWS_* credentials "
            "(they need GetObject, PutObject, DeleteObject and ListBucket)",
        )
    return Finding("files", "ok", f"stored in {settings.files_url}")


# -- the machine --------------------------------------------------------------------------------


async def check_disk(context: Context) -> list[Finding]:
    path = context.settings.sqlite_path
    if path is None:
        return [Finding("disk", "ok", "the data is in PostgreSQL: watch its server's disk there")]
    directory = path.resolve().parent
    while not directory.exists():
        directory = directory.parent
    free_mb = shutil.disk_usage(directory).free // (1024 * 1024)
    if free_mb < context.disk_free_min_mb:
        return [
            Finding(
                "disk",
                "problem",
                f"{free_mb} MiB free where the database lives ({directory}); at least "
                f"{context.disk_free_min_mb} MiB wanted. SQLite cannot commit without room",
                "free space or move the database to a larger disk (HUBBUB_DATABASE_URL)",
            )
        ]
    return [Finding("disk", "ok", f"{free_mb} MiB free at {directory}")]


async def check_open_files(context: Context) -> list[Finding]:
    connections = context.settings.max_connections
    wanted = connections + serving.LINGERING_MAX + serving.FD_RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        fits = max(1, hard - serving.LINGERING_MAX - serving.FD_RESERVE)
        return [
            Finding(
                "open files",
                "problem",
                f"the open-file limit (hard {hard}) fits {fits} connections, but "
                f"HUBBUB_MAX_CONNECTIONS is {connections}: serve will lower its cap to {fits}",
                f"raise the limit to at least {wanted} (systemd: LimitNOFILE=65536; docker: "
                "--ulimit nofile=65536:65536; a shell: ulimit -Hn), or lower "
                "HUBBUB_MAX_CONNECTIONS",
            )
        ]
    raised = "" if soft >= wanted or soft == resource.RLIM_INFINITY else f" (serve raises {soft})"
    return [
        Finding(
            "open files",
            "ok",
            f"the limit fits HUBBUB_MAX_CONNECTIONS={connections} and {wanted - connections} "
            f"more{raised}",
        )
    ]


CHECKS: tuple[Check, ...] = (
    check_database,
    check_redis,
    check_smtp,
    check_public_url,
    check_trusted_proxies,
    check_tls,
    check_files,
    check_disk,
    check_open_files,
)
