"""Every variable of the README's configuration table: empty means its default, and a
malformed value stops the start with a message that names the variable."""

from __future__ import annotations

import re
import runpy
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "config" / "settings.py"


def readme_variables() -> list[str]:
    """The names in the first column of the README's configuration table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("## Configuration", 1)[1].split("\n### ", 1)[0]
    names: list[str] = []
    for line in table.splitlines():
        if not line.startswith("| `"):
            continue
        for name in re.findall(r"`([A-Z_]+)`", line.split("|")[1]):
            names.append(names[-1] + name if name.startswith("_") else name)
    return names


VARIABLES = readme_variables()


def load_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return {k: v for k, v in runpy.run_path(str(SETTINGS)).items() if k.isupper()}


def test_the_table_is_read() -> None:
    assert {"DATABASE_URL", "DJANGO_SECRET_KEY_FILE", "LOG_LEVEL", "BIND"} <= set(VARIABLES)
    assert len(VARIABLES) > 40


@pytest.mark.parametrize("name", VARIABLES)
def test_an_empty_variable_means_its_default(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    defaults = load_settings(monkeypatch)
    assert load_settings(monkeypatch, **{name: ""}) == defaults
    assert load_settings(monkeypatch, **{name: "  "}) == defaults


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "nonsense://somewhere"),
        ("DATABASE_URL", "not a url"),
        ("DATABASE_CONN_MAX_AGE", "forever"),
        ("CELERY_BROKER_URL", "localhost"),
        ("PUBLIC_BASE_URL", "ftp://example.com"),
        ("LOG_LEVEL", "LOUD"),
        ("TIME_ZONE", "Mars/Olympus_Mons"),
        ("TIME_ZONE", "../etc/passwd"),
        ("DJANGO_DEBUG", "perhaps"),
        ("ALLOW_PRIVATE_TOKEN_ENDPOINTS", "sometimes"),
        ("ALLOW_LOOPBACK_TOKEN_ENDPOINTS", "maybe"),
        ("LOG_FORMAT", "xml"),
        ("TOKEN_REQUEST_TIMEOUT_SECONDS", "0"),
        ("REFRESH_TOKEN_RENEWAL_FRACTION", "2"),
        ("REFRESH_RETRY_BASE_SECONDS", "9" * 5000),
        ("DJANGO_SECRET_KEY_FILE", "/nonexistent/secret"),
        ("TOKEN_ANSWER_CACHE_SECONDS", "-1"),
        ("TOKEN_ANSWER_CACHE_SECONDS", "3601"),
        ("USE_RECORD_DELAY_SECONDS", "61"),
        ("USE_RECORD_DELAY_SECONDS", "soon"),
        ("REFRESH_DISPATCH_LEASE_SECONDS", "4"),
        ("METRICS_TOKEN", "fifteen-chars.."),
        ("METRICS_TOKEN", "a token with spaces in it"),
        ("METRICS_TOKEN", "ünïcödé-is-not-a-header-value"),
        ("METRICS_TOKEN_FILE", "/nonexistent/metrics-token"),
        ("PROMETHEUS_MULTIPROC_DIR", "/dev/null/metrics"),
        ("CONSENT_LINK_HOURS", "0"),
        ("CONSENT_PAGES_PER_MINUTE", "many"),
    ],
)
def test_a_malformed_variable_is_a_start_up_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=name) as caught:
        load_settings(monkeypatch, **{name: value})
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize("public", ["http://intranet.example.com:8000", "https://sm.example.com"])
def test_no_internal_endpoint_is_allowed_by_default_whatever_the_public_url(
    monkeypatch: pytest.MonkeyPatch, public: str
) -> None:
    """An internal http deployment, or a forgotten https, allows nothing by itself."""
    loaded = load_settings(monkeypatch, PUBLIC_BASE_URL=public)
    assert loaded["ALLOW_PRIVATE_TOKEN_ENDPOINTS"] is False
    assert loaded["ALLOW_LOOPBACK_TOKEN_ENDPOINTS"] is False
    assert loaded["CONNECTIVITY_ALLOWED_HOSTS"] == []


def test_sign_in_throttling_defaults_are_the_documented_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded = load_settings(monkeypatch)
    assert loaded["LOGIN_FAILURE_LIMIT"] == 5
    assert loaded["AXES_COOLOFF_TIME"].total_seconds() == 15 * 60
    assert loaded["TRUSTED_PROXY_COUNT"] == 0
    assert loaded["AXES_LOCKOUT_PARAMETERS"] == [["username", "ip_address"]]


def test_json_logs_are_one_object_per_line_with_the_request_and_no_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json
    import logging

    from django.test import RequestFactory

    from config.logs import JsonFormatter

    loaded = load_settings(monkeypatch, LOG_FORMAT="json")
    assert loaded["LOGGING"]["handlers"]["console"]["formatter"] == "json"
    assert loaded["CELERY_WORKER_HIJACK_ROOT_LOGGER"] is False  # workers and beat too
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Bad Request: %s", ("/x",), None
    )
    record.status_code = 400
    record.request = RequestFactory().get("/x?code=secret-code-value")
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["message"] == "Bad Request: /x"
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/x", 400)
    assert "secret-code-value" not in line  # the path, never the query string


def test_the_hot_paths_defaults_are_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """README: answers kept 60 s while nothing changes, uses written 1 s later, beat hands
    out again after 300 s without any task started."""
    loaded = load_settings(monkeypatch)
    assert loaded["TOKEN_ANSWER_CACHE_SECONDS"] == 60
    assert loaded["USE_RECORD_DELAY_SECONDS"] == 1
    assert loaded["REFRESH_DISPATCH_LEASE_SECONDS"] == 300


def test_consent_link_defaults_are_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """README: a consent link works 24 hours; 30 requests a minute per address."""
    loaded = load_settings(monkeypatch)
    assert loaded["CONSENT_LINK_HOURS"] == 24
    assert loaded["CONSENT_PAGES_PER_MINUTE"] == 30


def test_a_metrics_token_of_16_visible_characters_is_taken(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """README: at least 16 visible ASCII characters (15 is refused above); from a file too."""
    assert load_settings(monkeypatch, METRICS_TOKEN="sixteen-chars-ok")["METRICS_TOKEN"] == (
        "sixteen-chars-ok"
    )
    token_file = tmp_path / "metrics-token"
    token_file.write_text("from-a-file-0123456789\n")
    loaded = load_settings(monkeypatch, METRICS_TOKEN_FILE=str(token_file))
    assert loaded["METRICS_TOKEN"] == "from-a-file-0123456789"
    assert load_settings(monkeypatch)["METRICS_TOKEN"] == ""  # unset: /metrics is off
