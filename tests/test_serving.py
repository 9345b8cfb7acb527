"""hubbub.serving's options for uvicorn, and the settings behind them (the limits themselves are
tested against a real server in tests/test_server_limits.py)."""

from __future__ import annotations

import resource
from collections.abc import Iterator

import pytest

from hubbub.config import ConfigError, Settings
from hubbub.serving import (
    FD_RESERVE,
    LINGERING_MAX,
    LimitedHttpToolsProtocol,
    Limits,
    fit_connections,
    protocol_class,
    uvicorn_options,
)


def test_forwarded_headers_are_believed_from_nobody_by_default() -> None:
    options = uvicorn_options(Settings())
    assert options["proxy_headers"] is False
    assert options["forwarded_allow_ips"] == []


def test_forwarded_headers_are_believed_from_the_trusted_proxies_only() -> None:
    settings = Settings.load({}, {"HUBBUB_TRUSTED_PROXIES": " 10.0.0.7, 192.168.0.1/16 ,::1"})
    assert settings.trusted_proxy_list == ("10.0.0.7", "192.168.0.0/16", "::1")
    options = uvicorn_options(settings)
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == ["10.0.0.7", "192.168.0.0/16", "::1"]


@pytest.mark.parametrize("value", ["*", "proxy.example.org", "10.0.0.1/33", "10.0.0.300"])
def test_a_trusted_proxy_that_is_no_address_is_refused_at_start(value: str) -> None:
    with pytest.raises(ConfigError, match="trusted_proxies"):
        Settings.load({}, {"HUBBUB_TRUSTED_PROXIES": f"127.0.0.1,{value}"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HUBBUB_MAX_HEADER_BYTES": "0"}, "max_header_bytes"),
        ({"HUBBUB_MAX_HEADERS": "0"}, "max_headers"),
        ({"HUBBUB_MAX_CONNECTIONS": "0"}, "max_connections"),
        ({"HUBBUB_WS_MAX_MESSAGE_BYTES": "0"}, "ws_max_message_bytes"),
        ({"HUBBUB_HEADER_TIMEOUT_SECONDS": "0"}, "header_timeout_seconds"),
        ({"HUBBUB_BODY_TIMEOUT_SECONDS": "-1"}, "body_timeout_seconds"),
        ({"HUBBUB_BODY_MIN_BYTES_PER_SECOND": "-1"}, "body_min_bytes_per_second"),
    ],
)
def test_bad_limits_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.load({}, env)


def test_the_limits_reach_uvicorn() -> None:
    env = {
        "HUBBUB_WS_MAX_MESSAGE_BYTES": "4096",
        "HUBBUB_MAX_HEADER_BYTES": "8192",
        "HUBBUB_MAX_CONNECTIONS": "50",
        "HUBBUB_HEADER_TIMEOUT_SECONDS": "2",
    }
    options = uvicorn_options(Settings.load({}, env))
    assert options["ws_max_size"] == 4096
    http = options["http"]
    assert issubclass(http, LimitedHttpToolsProtocol)
    assert http.guard.limits == Limits(
        max_header_bytes=8192, max_connections=50, header_timeout=2.0
    )
    assert http.guard.tick == 0.5


def test_each_protocol_class_has_its_own_guard() -> None:
    assert protocol_class(Limits()).guard is not protocol_class(Limits()).guard


@pytest.fixture
def fd_limit() -> Iterator[tuple[int, int]]:
    """The open-file limits, restored afterwards."""
    limits = resource.getrlimit(resource.RLIMIT_NOFILE)
    yield limits
    resource.setrlimit(resource.RLIMIT_NOFILE, limits)


def test_the_connection_cap_fits_the_open_file_limit(fd_limit: tuple[int, int]) -> None:
    hard = fd_limit[1]
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no hard open-file limit to fit under")
    fits = Limits(max_connections=hard - LINGERING_MAX - FD_RESERVE)
    assert fit_connections(fits) == fits
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard  # raised to fit
    too_many = Limits(max_connections=hard)
    assert fit_connections(too_many).max_connections == hard - LINGERING_MAX - FD_RESERVE
