"""The one configuration object: defaults < environment (HUBBUB_*) < command-line flags."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from hubbub.mail import SmtpTarget, parse_mail_from, parse_smtp_url

__all__ = ["ConfigError", "Settings"]

LogLevel = Literal["debug", "info", "warning", "error"]
LogFormat = Literal["console", "json"]
Synchronous = Literal["FULL", "NORMAL"]
PasswordHashing = Literal["default", "fast"]
Registration = Literal["open", "invite", "closed"]
NotifyDefault = Literal["all", "mentions", "none"]  # notifications (#18)


class ConfigError(ValueError):
    """A setting has a value that cannot be used; the message names the setting."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob of a hubbub process: `Settings(...)` in tests, `Settings.load` in the CLI.

    Each field `x` is read from the environment variable `HUBBUB_X` when no flag gives it.
    """

    host: str = "127.0.0.1"
    port: int = 8081
    database_url: str = "sqlite:///./data/hubbub.db"
    log_level: LogLevel = "info"
    # Log lines as JSON objects (one per line) or as readable console text.
    log_format: LogFormat = "console"
    # Serve /metrics on this port (same host); None: no separate port.
    metrics_port: int | None = None
    # Also serve /metrics on the public port (off by default: it tells anyone how busy the
    # server is and who is connected; scrape the metrics port instead).
    metrics_public: bool = False
    # Browser clients on other origins allowed to call the API (CORS), comma-separated exact
    # origins like "https://chat.example.com"; none by default.
    cors_origins: str = ""
    # FULL: every acknowledged write survives power loss. NORMAL: survives a process crash,
    # but the last transactions before an OS crash/power loss may be lost (WAL not yet synced).
    sqlite_synchronous: Synchronous = "FULL"
    # Group commit: at most this many queued writes share one transaction (one fsync).
    write_batch_max: int = 256
    max_body_bytes: int = 65536
    classic_user_max: int = 64
    classic_text_max: int = 4000
    message_text_max: int = 4000
    # "fast" uses cheap argon2id parameters: for tests and benchmarks only.
    password_hashing: PasswordHashing = "default"
    # Rate limits (services/ratelimits.py): "" the defaults, "off" none (benchmarks, tests),
    # or "name=rate;..." changing single budgets, e.g. "messages=30/minute;sign_up=5/hour".
    rate_limits: str = ""
    # Open streams (WebSocket, SSE, waiting long-polls) one user may hold on one node.
    streams_per_user: int = 20
    # Who may sign up: anyone ("open"), people with an invite ("invite"), or nobody: admins
    # make accounts ("closed"). Public servers: "invite".
    registration: Registration = "open"
    # Whether any member (not just server admins) may make invites.
    members_can_invite: bool = False
    # A session not used for this many days has expired (sign in again).
    session_idle_days: int = 30
    # The address people reach this server at, for the links it makes (invites, password
    # resets): e.g. https://chat.example.com. Default: http://<host>:<port>.
    public_url: str = ""
    # Retention (durations like 90s, 45m, 12h, 30d). Messages older than message_retention
    # are erased for good, in every room without its own retention_days ("off": kept).
    message_retention: str = "off"
    # The event log (what lets clients resume) keeps this long; an older cursor is reset.
    event_retention: str = "30d"
    # How often the retention sweep runs (each node; the sweep is idempotent).
    retention_sweep_interval: str = "1h"
    # SQLite: deleted text leaves the database files (the write-ahead log is checkpointed and
    # truncated, freed pages are zeroed) within this many seconds.
    redact_flush_seconds: float = 60.0
    # @room and @here need an owner or admin in rooms with more members than this.
    room_mention_max: int = 100
    # Notifications (#18): the level of a room whose member chose none (DMs are always "all").
    notify_default: NotifyDefault = "mentions"
    graceful_shutdown_seconds: int = 2
    # On start, how long to wait for an unreachable database before giving up.
    database_wait_seconds: float = 30.0
    # Cluster mode: the Redis that carries live events between nodes (none: one node).
    redis_url: str | None = None
    # Worker processes serving the one port (hubbub/workers.py), each a node of a cluster:
    # more than 1 needs redis_url.
    workers: int = 1
    # Real-time: events buffered per connection before a slow client is disconnected; how
    # often a node re-reads the event log in case a bus message was lost; heartbeats.
    stream_buffer: int = 1000
    event_poll_seconds: float = 1.0
    presence_grace_seconds: float = 30.0
    # Presence is pushed live only in rooms with at most this many connected members (per
    # node); clients ask GET /api/v1/presence about the others.
    presence_room_max: int = 100
    sse_heartbeat_seconds: float = 15.0
    ws_ping_seconds: float = 30.0
    ws_per_message_deflate: bool = False
    # HTTP server limits (hubbub/serving.py)
    # The request line and headers together, in bytes, and the number of header fields:
    # beyond either, 431 (414 when the URL is most of it) and the connection closes.
    max_header_bytes: int = 16384
    max_headers: int = 100
    # A request head must be complete this long after its first byte (else 408), and a new
    # connection must begin a request within it (else it is closed).
    header_timeout_seconds: float = 10.0
    # While a request body arrives: at most this long without a byte, and once it has taken
    # this long, at least body_min_bytes_per_second on average (else 408); 0 turns the rate
    # check off.
    body_timeout_seconds: float = 10.0
    body_min_bytes_per_second: int = 500
    # Open connections (HTTP and WebSocket) per process; beyond it a new connection gets 503.
    max_connections: int = 10000
    # The largest WebSocket message a client may send; a bigger one closes with 1009.
    ws_max_message_bytes: int = 16384
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed: comma-separated IP
    # addresses or CIDR networks (your reverse proxy). Empty: nobody's; the peer's address is
    # the client's.
    trusted_proxies: str = ""
    # Serve HTTPS and WSS directly (no proxy in front): a PEM certificate chain and its
    # private key. Both or neither.
    tls_cert: str = ""
    tls_key: str = ""
    # Files (uploads, attachments, avatars). Where they are stored: a directory (default:
    # "files" beside the SQLite database, else ./data/files) or S3-compatible object storage,
    # s3://bucket/prefix, with credentials from the standard AWS_* variables.
    files_url: str = ""
    # The S3 endpoint for a service other than AWS (MinIO, Garage, ...).
    s3_endpoint_url: str = ""
    # S3: answer downloads with a redirect to a short-lived presigned URL of the object
    # (served by the store, from its own origin), instead of sending the bytes through hubbub.
    files_redirect: bool = False
    # Nodes of a cluster share the files directory (NFS, ...): lets `serve` use a local
    # directory with PostgreSQL.
    files_shared: bool = False
    # The largest upload, in bytes (413 file_too_large beyond it).
    max_upload_bytes: int = 25 * 1024 * 1024
    # What one account's uploads may add up to, in bytes (413 quota_exceeded); 0: no quota.
    upload_quota_bytes: int = 1024 * 1024 * 1024
    # How long the signed links to files in API answers work.
    file_link_seconds: int = 3600
    # Images with more pixels than this are refused (422): a decompression bomb.
    image_max_pixels: int = 50_000_000
    # Outbound HTTP (Web Push, outgoing webhooks, slash commands) may reach private, loopback
    # and link-local addresses. Off: only public addresses (the SSRF guard, src/hubbub/outbound.py).
    outbound_allow_private: bool = False
    # Missed-message email (#18): the relay, smtp://user:password@host:587 (STARTTLS) or
    # smtps://user:password@host:465 (TLS); empty: no email. ?starttls=false (smtp:// to a
    # relay on this machine only) sends in the clear.
    smtp_url: str = ""
    # The sender of every mail, e.g. "hubbub <chat@example.com>" (needed with smtp_url).
    mail_from: str = ""
    # A DM or mention still unread this long after it was sent is mailed (one digest per
    # user per window).
    email_delay: str = "15m"
    # Outgoing webhooks (#19): a failed delivery is retried after retry_base * 2^attempt
    # seconds (capped at retry_max, with jitter) for up to retry_window seconds; a hook whose
    # deliveries fail `disable_after` times in a row (or past the window) is turned off.
    outgoing_retry_base_seconds: float = 10.0
    outgoing_retry_max_seconds: float = 3600.0
    outgoing_retry_window_seconds: float = 86400.0
    outgoing_disable_after: int = 25
    # How long a receiver may take to answer an outgoing webhook (connect + read).
    outgoing_timeout_seconds: float = 10.0
    # Web Push (#18): a push goes at once to a user with no live connection; to one who is
    # connected, only if the message is still unread this many seconds after it was sent.
    push_delay: float = 60.0
    # Whom push services can contact about our pushes (the VAPID `sub`): mailto:you@example.com
    # or an https:// URL. Default: public_url.
    push_contact: str = ""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be 0..65535, got {self.port}")
        if self.metrics_port is not None and not (
            1 <= self.metrics_port <= 65535 and self.metrics_port != self.port
        ):
            raise ConfigError(
                f"metrics_port must be 1..65535 and not port, got {self.metrics_port}"
            )
        if self.public_url and not self.public_url.startswith(("https://", "http://")):
            raise ConfigError(f"public_url must start with https:// (got {self.public_url!r})")
        for origin in self.cors_origin_list:
            if not origin.startswith(("https://", "http://")) or origin.count("/") != 2:
                raise ConfigError(
                    f"cors_origins: {origin!r} is not an origin like https://chat.example.com"
                )
        if self.redis_url is not None and not self.redis_url.startswith(("redis://", "rediss://")):
            raise ConfigError(f"redis_url must start with redis:// (got {self.redis_url!r})")
        if self.workers < 1:
            raise ConfigError("workers must be at least 1")
        if self.workers > 1 and not self.redis_url:
            raise ConfigError(
                f"workers={self.workers} needs HUBBUB_REDIS_URL (--redis-url): worker "
                "processes share live events through Redis"
            )
        if (
            self.workers > 1
            and self.metrics_port is not None
            and self.metrics_port <= self.port < self.metrics_port + self.workers
        ):
            raise ConfigError(
                f"metrics_port: worker i serves /metrics on metrics_port + i, so ports "
                f"{self.metrics_port}..{self.metrics_port + self.workers - 1} must not hold "
                f"port {self.port}"
            )
        if not self.database_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ConfigError(
                "database_url must start with sqlite:/// or postgresql:// "
                f"(got {self.database_url!r})"
            )
        for name in (
            "write_batch_max",
            "max_body_bytes",
            "classic_user_max",
            "classic_text_max",
            "message_text_max",
            "stream_buffer",
            "streams_per_user",
            "session_idle_days",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        for f in fields(self):
            choices = _choices(f.name)
            if choices and getattr(self, f.name) not in choices:
                raise ConfigError(f"{f.name} must be one of {', '.join(choices)}")
        for name in ("max_header_bytes", "max_headers", "max_connections", "ws_max_message_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        for name in ("header_timeout_seconds", "body_timeout_seconds"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be more than 0")
        if self.body_min_bytes_per_second < 0:
            raise ConfigError("body_min_bytes_per_second must be 0 (off) or more")
        _proxy_entries(self.trusted_proxies)
        if self.message_retention != "off":
            _duration("message_retention", self.message_retention)
        for name in ("event_retention", "retention_sweep_interval"):
            _duration(name, getattr(self, name))
        if not self.redact_flush_seconds > 0:
            raise ConfigError("redact_flush_seconds must be more than 0")
        for name in (
            "outgoing_retry_base_seconds",
            "outgoing_retry_max_seconds",
            "outgoing_retry_window_seconds",
            "outgoing_timeout_seconds",
        ):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be more than 0")
        if self.outgoing_disable_after < 1:
            raise ConfigError("outgoing_disable_after must be at least 1")
        for name in ("max_upload_bytes", "file_link_seconds", "image_max_pixels"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        if self.upload_quota_bytes < 0:
            raise ConfigError("upload_quota_bytes must be 0 (no quota) or more")
        if self.files_url.startswith("s3:") and not self.files_url.startswith("s3://"):
            raise ConfigError(
                f"files_url must look like s3://bucket/prefix (got {self.files_url!r})"
            )
        if self.files_url.startswith("s3://") and not self.files_url[5:].split("/")[0]:
            raise ConfigError("files_url names no bucket: s3://bucket/prefix")
        if not 0 <= self.push_delay <= 86400:
            raise ConfigError("push_delay must be 0..86400 seconds")
        if self.push_contact and not self.push_contact.startswith(("mailto:", "https://")):
            raise ConfigError(
                f"push_contact must be a mailto: or https:// address (got {self.push_contact!r})"
            )
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ConfigError("tls_cert and tls_key go together: set both, or neither")
        _duration("email_delay", self.email_delay)
        if self.smtp_url:
            try:
                parse_smtp_url(self.smtp_url)
            except ValueError as exc:
                raise ConfigError(f"smtp_url {exc}") from None
            if not self.mail_from:
                raise ConfigError(
                    "mail_from is needed with smtp_url: the sender of every mail, like"
                    " 'hubbub <chat@example.com>'"
                )
        if self.mail_from:
            try:
                parse_mail_from(self.mail_from)
            except ValueError as exc:
                raise ConfigError(f"mail_from {exc}") from None

    @property
    def scheme(self) -> str:
        """`https` when this process serves TLS itself, else `http`."""
        return "https" if self.tls_cert else "http"

    @property
    def message_retention_seconds(self) -> float | None:
        """message_retention in seconds; None when off."""
        if self.message_retention == "off":
            return None
        return _duration("message_retention", self.message_retention)

    @property
    def event_retention_seconds(self) -> float:
        return _duration("event_retention", self.event_retention)

    @property
    def retention_sweep_seconds(self) -> float:
        return _duration("retention_sweep_interval", self.retention_sweep_interval)

    @property
    def email_delay_seconds(self) -> float:
        return _duration("email_delay", self.email_delay)

    @property
    def smtp(self) -> SmtpTarget | None:
        """Where mail goes; None when email is off (no smtp_url)."""
        return parse_smtp_url(self.smtp_url) if self.smtp_url else None

    @property
    def base_url(self) -> str:
        """Where this server is reached, for links: public_url, else scheme://host:port."""
        return (self.public_url or f"{self.scheme}://{self.host}:{self.port}").rstrip("/")

    @property
    def cors_origin_list(self) -> tuple[str, ...]:
        return tuple(o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip())

    @property
    def sqlite_path(self) -> Path | None:
        """The database file for a sqlite:/// URL, else None."""
        if not self.database_url.startswith("sqlite:///"):
            return None
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def files_dir(self) -> Path | None:
        """The directory files are stored in; None when they go to S3 (files_url s3://)."""
        if self.files_url.startswith("s3://"):
            return None
        if self.files_url:
            return Path(self.files_url.removeprefix("file://"))
        db = self.sqlite_path
        return db.parent / "files" if db is not None else Path("./data/files")

    def check_shared_files(self) -> None:
        """ConfigError when several nodes would each keep their own files: PostgreSQL (a
        cluster) with a local directory, unless the operator says it is shared."""
        if self.sqlite_path is None and self.files_dir is not None and not self.files_shared:
            raise ConfigError(
                "files: with PostgreSQL every node must see the same files. Set "
                "HUBBUB_FILES_URL=s3://bucket/prefix (S3-compatible storage), or put "
                f"{self.files_dir} on a directory every node shares and set "
                "HUBBUB_FILES_SHARED=true"
            )

    @property
    def trusted_proxy_list(self) -> tuple[str, ...]:
        """`trusted_proxies` as a tuple of normalised IP addresses and CIDR networks."""
        return _proxy_entries(self.trusted_proxies)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def load(cls, flags: Mapping[str, Any], environ: Mapping[str, str]) -> Settings:
        """Merge defaults < `HUBBUB_*` from `environ` < non-None `flags`; raise ConfigError."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            flag = flags.get(f.name)
            if flag is not None:
                values[f.name] = flag
                continue
            env_name = f"HUBBUB_{f.name.upper()}"
            raw = environ.get(env_name)
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, env_name, raw)
        try:
            return cls(**values)
        except TypeError as exc:  # pragma: no cover - programming error
            raise ConfigError(str(exc)) from exc


def _bool(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def _proxy_entries(text: str) -> tuple[str, ...]:
    """Comma-separated IP addresses and CIDR networks, normalised; ConfigError for others."""
    entries = []
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        try:
            if "/" in entry:
                entries.append(str(ipaddress.ip_network(entry, strict=False)))
            else:
                entries.append(str(ipaddress.ip_address(entry)))
        except ValueError:
            raise ConfigError(
                f"trusted_proxies: {entry!r} is not an IP address or a CIDR network"
            ) from None
    return tuple(entries)


_CONVERT: dict[type, Any] = {int: int, float: float, str: str, bool: _bool}


@cache
def _field_types() -> dict[str, Any]:
    """Each field's type, resolved (the annotations are strings under `from __future__`)."""
    return get_type_hints(Settings)


def _base(kind: Any) -> Any:
    """`X | None` -> X; anything else as it is."""
    if get_origin(kind) in (Union, UnionType):
        args = [a for a in get_args(kind) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return kind


def _choices(name: str) -> tuple[str, ...]:
    """The allowed values of a Literal-typed field; () for any other."""
    kind = _base(_field_types()[name])
    return tuple(get_args(kind)) if get_origin(kind) is Literal else ()


def _parse(name: str, env_name: str, raw: str) -> Any:
    choices = _choices(name)
    if choices:
        # Case-insensitive, answered in the spelling the choices use.
        by_fold = {str(c).casefold(): c for c in choices}
        return by_fold.get(raw.casefold(), raw)
    kind = _base(_field_types()[name])
    convert = _CONVERT.get(kind)
    if convert is None:  # pragma: no cover - a field type this loader does not know
        raise ConfigError(f"{env_name}: no parser for {kind!r}")
    try:
        return convert(raw)
    except ValueError:
        raise ConfigError(f"{env_name}={raw!r} is not a valid {kind.__name__}") from None


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(name: str, text: str) -> float:
    """'90s', '45m', '12h', '30d' -> seconds (more than 0)."""
    value = text.strip()
    number, unit = value[:-1], value[-1:]
    if unit not in _UNITS or not number.isascii() or not number.isdigit() or int(number) < 1:
        raise ConfigError(f"{name} must be a duration like 90s, 45m, 12h or 30d (got {text!r})")
    return float(int(number) * _UNITS[unit])
