"""Running hubbub on uvicorn: its options, and the process settings around it."""

from __future__ import annotations

import gc
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from hubbub.config import Settings

__all__ = ["run", "uvicorn_options"]


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.run's keyword arguments for `settings`."""
    proxies = settings.trusted_proxy_list
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "log_config": None,  # hubbub.logs renders uvicorn's records too
        "access_log": False,  # web.observability writes the access log (route and request id)
        "timeout_graceful_shutdown": settings.graceful_shutdown_seconds,
        "ws_per_message_deflate": settings.ws_per_message_deflate,
        "ws_max_size": settings.ws_max_message_bytes,
        # X-Forwarded-For/-Proto only from the configured proxies; uvicorn's default would
        # believe any local process (127.0.0.1), so a client could pick its own address.
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": list(proxies),
        "server_header": False,
    }


def run(app: ASGIApp, settings: Settings) -> None:
    """Serve `app` with `settings` until Ctrl-C or SIGTERM."""
    # Garbage collection was 15-25% of server CPU under fan-out (bench/realtime.py): keep the
    # objects made at start-up (modules, the app) out of every collection, and collect the
    # youngest generation less often.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    uvicorn.run(app, **uvicorn_options(settings))
