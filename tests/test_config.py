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
        ({"HUBBUB_MESSAGE_RETENTION": "30 days"}, "message_retention"),
        ({"HUBBUB_EVENT_RETENTION": "0d"}, "event_retention"),
        ({"HUBBUB_EVENT_RETENTION": "off"}, "event_retention"),
        ({"HUBBUB_RETENTION_SWEEP_INTERVAL": "1w"}, "retention_sweep_interval"),
        ({"HUBBUB_RETENTION_SWEEP_INTERVAL": "\uff11h"}, "retention_sweep_interval"),
        ({"HUBBUB_REDACT_FLUSH_SECONDS": "0"}, "redact_flush_seconds"),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.load({}, env)


def test_sqlite_path() -> None:
    assert str(Settings(database_url="sqlite:////tmp/x/y.db").sqlite_path) == "/tmp/x/y.db"
    assert Settings(database_url="postgresql://u@h/db").sqlite_path is None


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90.0), ("45m", 2700.0), ("12h", 43200.0), ("30d", 2592000.0)]
)
def test_durations(text: str, seconds: float) -> None:
    s = Settings.load({}, {"HUBBUB_MESSAGE_RETENTION": text, "HUBBUB_EVENT_RETENTION": text})
    assert s.message_retention_seconds == seconds
    assert s.event_retention_seconds == seconds


def test_message_retention_is_off_by_default_and_events_keep_30_days() -> None:
    s = Settings()
    assert s.message_retention_seconds is None
    assert s.event_retention_seconds == 30 * 86400
    assert s.retention_sweep_seconds == 3600


def test_tls_needs_a_certificate_and_its_key_together() -> None:
    with pytest.raises(ConfigError, match="tls_cert and tls_key"):
        Settings.load({}, {"HUBBUB_TLS_CERT": "/etc/hubbub/cert.pem"})
    both = Settings.load({}, {"HUBBUB_TLS_CERT": "/c.pem", "HUBBUB_TLS_KEY": "/k.pem"})
    assert (both.scheme, both.base_url) == ("https", "https://127.0.0.1:8081")
    assert Settings().base_url == "http://127.0.0.1:8081"


def test_email_settings_parse_the_relay_and_keep_its_password_out_of_sight() -> None:
    s = Settings.load(
        {},
        {
            "HUBBUB_SMTP_URL": "smtp://hub%40bub:p%2Fss@mail.example.com",
            "HUBBUB_MAIL_FROM": "hubbub <chat@example.com>",
        },
    )
    target = s.smtp
    assert target is not None
    assert (target.host, target.port, target.starttls, target.implicit_tls) == (
        "mail.example.com",
        587,
        True,
        False,
    )
    assert (target.username, target.password) == ("hub@bub", "p/ss")
    assert "p/ss" not in repr(target)
    assert s.email_delay_seconds == 15 * 60
    tls = Settings(smtp_url="smtps://mail.example.com", mail_from="a@example.com").smtp
    assert tls is not None
    assert (tls.port, tls.implicit_tls, tls.starttls) == (465, True, False)
    plain = Settings(smtp_url="smtp://127.0.0.1:2525?starttls=false", mail_from="a@example.com")
    assert plain.smtp is not None
    assert plain.smtp.starttls is False
    assert Settings().smtp is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"smtp_url": "http://mail.example.com"}, "smtp_url must start with smtp://"),
        ({"smtp_url": "smtp://"}, "smtp_url names no host"),
        ({"smtp_url": "smtp://mail.example.com:99999"}, "smtp_url has a port"),
        ({"smtp_url": "smtp://mail.example.com?tls=1"}, "smtp_url unknown option 'tls'"),
        ({"smtp_url": "smtps://mail.example.com?starttls=false"}, "smtp_url starttls=false"),
        ({"smtp_url": "smtp://mail.example.com?starttls=false"}, "only to a relay on this machine"),
        ({"smtp_url": "smtp://secret:pw@mail.example.com", "mail_from": ""}, "mail_from is needed"),
        ({"mail_from": "not an address"}, "mail_from is not an address"),
        ({"mail_from": "a@example.com\r\nBcc: x@example.com"}, "mail_from must be one line"),
        ({"email_delay": "soon"}, "email_delay must be a duration"),
    ],
)
def test_bad_email_settings_name_the_setting(changes: dict[str, str], message: str) -> None:
    values = {"mail_from": "a@example.com", **changes}
    with pytest.raises(ConfigError, match=message) as caught:
        Settings(**values)  # type: ignore[arg-type]
    assert "pw" not in str(caught.value)


def test_more_than_one_worker_needs_redis() -> None:
    assert Settings.load({}, {}).workers == 1
    with pytest.raises(ConfigError, match="workers=2 needs HUBBUB_REDIS_URL"):
        Settings.load({}, {"HUBBUB_WORKERS": "2"})
    with pytest.raises(ConfigError, match="workers must be at least 1"):
        Settings.load({"workers": 0}, {})
    both = Settings.load({"workers": 3}, {"HUBBUB_REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert both.workers == 3


def test_each_worker_needs_a_metrics_port_of_its_own() -> None:
    redis = {"HUBBUB_REDIS_URL": "redis://127.0.0.1:6379/0"}
    with pytest.raises(ConfigError, match="metrics_port"):  # worker 1 would take port 8081
        Settings.load({"workers": 2, "metrics_port": 8080, "port": 8081}, redis)
    assert Settings.load({"workers": 2, "metrics_port": 9100}, redis).metrics_port == 9100
