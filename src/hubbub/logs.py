"""Logging: every record, ours and the libraries' (uvicorn, psycopg, ...), goes through the
standard `logging` module and is rendered by structlog, as JSON lines or for the console.

Modules log with `logging.getLogger(__name__)` and structured fields in `extra=`. The request
id of the request being served is added to every record (web/observability.py sets it).
Secrets never reach the output: fields named like secrets are replaced, and `access_token=`,
`password=` and `Bearer` values are masked in messages (uvicorn logs WebSocket URLs whole).
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from contextvars import ContextVar
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from hubbub.config import LogFormat

__all__ = [
    "ACCESS_LOG",
    "REQUEST_ID",
    "AccessLog",
    "LogFormat",
    "configure_logging",
    "redact",
    "redact_url",
]

# The id of the request being served, if any (set per request by web.observability).
REQUEST_ID: ContextVar[str | None] = ContextVar("hubbub_request_id", default=None)

REDACTED = "[redacted]"
# A message without any of these has nothing to mask.
_MARKS = ("=", "%3d", "%3D", "earer", "://", " bytes]")
_SECRET_KEYS = frozenset(
    {
        "password",
        "new_password",
        "current_password",
        "token",
        "access_token",
        "ticket",
        "authorization",
        "text",
        "body",
    }
)
# Keys spelled plainly or percent-encoded (`access%5Ftoken=` authenticates too).
_SECRET_IN_TEXT = re.compile(
    r"(?i)\b((?:access(?:_|%5f)token|token|password|ticket)(?:=|%3d))[^&\s\"']+"
    r"|\b(bearer\s+)[^\s\"']+"
)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@/\s]+@")
# WebSocket frames as the websockets library logs them at DEBUG: "> TEXT '{...}' [144 bytes]".
_FRAME = re.compile(r"\b(TEXT|BINARY|CONT) .*(\[\d+ bytes\])")


def redact_url(url: str) -> str:
    """`url` with any password in it masked: scheme://user:[redacted]@host/..."""
    return _URL_PASSWORD.sub(r"\1" + REDACTED + "@", url)


def _mask(text: str) -> str:
    text = _SECRET_IN_TEXT.sub(lambda m: (m.group(1) or m.group(2)) + REDACTED, text)
    text = _FRAME.sub(r"\1 " + REDACTED + r" \2", text)
    return redact_url(text)


def redact(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask secret-named fields and secrets inside messages."""
    event_dict.pop("color_message", None)  # uvicorn's copy of the message, with ANSI colours
    for key in _SECRET_KEYS.intersection(event_dict):
        event_dict[key] = REDACTED
    for key in ("event", "exception"):
        value = event_dict.get(key)
        if isinstance(value, str) and any(mark in value for mark in _MARKS):
            event_dict[key] = _mask(value)
    return event_dict


def _add_request_id(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    if "request_id" not in event_dict:
        request_id = REQUEST_ID.get()
        if request_id is not None:
            event_dict["request_id"] = request_id
    return event_dict


def _json(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


class _HandlerWriter:
    """A structlog logger that writes finished lines through a logging handler's stream,
    under the handler's lock, so they never interleave with other records."""

    def __init__(self, handler: logging.StreamHandler[TextIO]) -> None:
        self._handler = handler

    def info(self, line: str) -> None:
        with self._handler.lock or contextlib.nullcontext():
            self._handler.stream.write(line + "\n")
            self._handler.stream.flush()


def _access_head(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """The keys every record starts with, in the order the other records have them."""
    return {
        "event": event_dict.pop("event"),
        "level": "info",
        "logger": "hubbub.access",
        "timestamp": event_dict.pop("timestamp"),
        **event_dict,
    }


class AccessLog:
    """The access log: one line per request, at INFO. Silent until configure_logging turns it
    on. It skips the stdlib record and formatter (a quarter of the cost per line), writing
    the same format to the same stream; its fields (method, route template, status,
    duration, a validated request id) hold nothing to redact."""

    def __init__(self) -> None:
        self.enabled = False
        self._logger: Any = None

    def write(self, **fields: Any) -> None:
        self._logger.info("request", **fields)

    def configure(self, handler: logging.StreamHandler[TextIO], renderer: Processor) -> None:
        self._logger = structlog.wrap_logger(
            _HandlerWriter(handler),
            processors=[
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                _access_head,
                renderer,
            ],
            wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        )
        self.enabled = True


ACCESS_LOG = AccessLog()


def configure_logging(log_format: LogFormat, level: str, stream: TextIO | None = None) -> None:
    """Route every log record to `stream` (stderr) as JSON lines or console lines, at `level`
    and above, and turn the access log on at INFO and below. Replaces the root logger's
    handlers; call once, at process start."""
    out = stream or sys.stderr
    pre_chain: list[Processor] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
        _add_request_id,
    ]
    renderer: Processor
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer(serializer=_json)
        final += [structlog.processors.format_exc_info, redact, renderer]
    else:
        # Plain tracebacks: the rich ones print local variables (passwords, message text).
        renderer = structlog.dev.ConsoleRenderer(
            colors=out.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
        final += [redact, renderer]
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=pre_chain, processors=final)
    )
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    ACCESS_LOG.enabled = False
    if root.isEnabledFor(logging.INFO):
        ACCESS_LOG.configure(handler, renderer)
    # structlog loggers, should a module use one, end in the same handler.
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *pre_chain[:3],
            _add_request_id,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
