"""hubbub.serving's options for uvicorn, and the settings behind them (their effect is tested
against a real server in tests/test_server_limits.py)."""

from __future__ import annotations

import pytest

from hubbub.config import ConfigError, Settings
from hubbub.serving import uvicorn_options


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


def test_a_websocket_message_limit_of_0_is_refused() -> None:
    with pytest.raises(ConfigError, match="ws_max_message_bytes"):
        Settings.load({}, {"HUBBUB_WS_MAX_MESSAGE_BYTES": "0"})


def test_the_websocket_message_limit_reaches_uvicorn() -> None:
    options = uvicorn_options(Settings.load({}, {"HUBBUB_WS_MAX_MESSAGE_BYTES": "4096"}))
    assert options["ws_max_size"] == 4096
