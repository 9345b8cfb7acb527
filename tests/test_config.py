from __future__ import annotations

import pytest

from hubbub.config import ConfigError, Settings


def test_defaults() -> None:
    s = Settings.load({}, {})
    assert (s.host, s.port, s.database_url) == ("127.0.0.1", 8081, "sqlite:///./data/hubbub.db")
    assert s.sqlite_synchronous == "FULL"


def test_env_overrides_default_and_flag_overrides_env() -> None:
    env = {"HUBBUB_PORT": "9000", "HUBBUB_HOST": "0.0.0.0", "HUBBUB_SQLITE_SYNCHRONOUS": "normal"}
    s = Settings.load({}, env)
    assert (s.port, s.host, s.sqlite_synchronous) == (9000, "0.0.0.0", "NORMAL")
    s = Settings.load({"port": 9100, "host": None}, env)
    assert (s.port, s.host) == (9100, "0.0.0.0")


def test_empty_env_value_means_unset() -> None:
    assert Settings.load({}, {"HUBBUB_PORT": ""}).port == 8081


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HUBBUB_PORT": "abc"}, "HUBBUB_PORT"),
        ({"HUBBUB_PORT": "70000"}, "port"),
        ({"HUBBUB_DATABASE_URL": "mysql://x"}, "database_url"),
        ({"HUBBUB_LOG_LEVEL": "loud"}, "log_level"),
        ({"HUBBUB_SQLITE_SYNCHRONOUS": "OFF"}, "sqlite_synchronous"),
        ({"HUBBUB_MAX_BODY_BYTES": "0"}, "max_body_bytes"),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.load({}, env)


def test_sqlite_path() -> None:
    assert str(Settings(database_url="sqlite:////tmp/x/y.db").sqlite_path) == "/tmp/x/y.db"
    assert Settings(database_url="postgresql://u@h/db").sqlite_path is None
