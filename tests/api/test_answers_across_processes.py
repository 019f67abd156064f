"""Two gunicorn processes keep the token API's answers (api.answers, as shipped): a
revoked API token, changed grants, a re-authorized or deleted artifact take effect on both
within 1 s (issue 19's bound). And a worker that stops cleanly writes the uses it held
(securitymaterial.usage)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connection

from api.models import ApiToken
from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode
from tests.support.processes import gunicorn

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="changes are announced by PostgreSQL NOTIFY"
    ),
]
PATH = "/api/v1/security-material/Generic_App/access-token"
AS_SHIPPED = {"TOKEN_ANSWER_CACHE_SECONDS": "60", "USE_RECORD_DELAY_SECONDS": "1"}
BOUND = 1.0  # seconds, issue 19


@pytest.fixture
def servers(tmp_path: Path, transactional_db: None) -> Iterator[list[str]]:
    with ExitStack() as stack:
        yield [
            stack.enter_context(gunicorn(tmp_path / str(n), "--workers", "1", env=AS_SHIPPED))
            for n in range(2)
        ]


def ask(url: str, secret: str) -> tuple[int, str | None]:
    response = requests.get(url + PATH, headers={"Authorization": f"Bearer {secret}"}, timeout=10)
    return response.status_code, response.json().get("access_token")


def seconds_until(servers: list[str], secret: str, wanted: Callable[[Any], bool]) -> float:
    """From now until every server answers as wanted (and keeps doing so)."""
    start = time.monotonic()
    while not all(wanted(ask(url, secret)) for url in servers):
        assert time.monotonic() - start < 10, "never took effect"
        time.sleep(0.02)
    took = time.monotonic() - start
    for _ in range(5):
        assert all(wanted(ask(url, secret)) for url in servers)
    return took


def test_changes_take_effect_on_both_processes_within_1_s(
    servers: list[str], in_use: OAuth2AuthorizationCode
) -> None:
    token, secret = ApiToken.create("mailer")
    for url in servers:  # the first question starts the process's listener ...
        assert ask(url, secret) == (200, "AT-live")
    time.sleep(0.5)
    for url in servers:  # ... which hears changes from then on: this answer is kept
        assert ask(url, secret) == (200, "AT-live")

    # Kept: a change that announces nothing (a queryset update) is not seen for longer.
    OAuth2AuthorizationCode.objects.filter(pk=in_use.pk).update(access_token="AT-unheard")
    deadline = time.monotonic() + 2 * BOUND
    while time.monotonic() < deadline:
        assert [ask(url, secret) for url in servers] == [(200, "AT-live")] * 2
        time.sleep(0.1)

    in_use.refresh_from_db()
    in_use.access_token = "AT-reauthorized"
    in_use.save()
    assert seconds_until(servers, secret, lambda a: a == (200, "AT-reauthorized")) <= BOUND

    token.artifact_names = ["Another_App"]
    token.save()
    assert seconds_until(servers, secret, lambda a: a[0] == 403) <= BOUND
    token.artifact_names = []
    token.save()
    assert seconds_until(servers, secret, lambda a: a[0] == 200) <= BOUND

    token.revoke()
    assert seconds_until(servers, secret, lambda a: a[0] == 401) <= BOUND

    _, other = ApiToken.create("other")
    assert all(ask(url, other)[0] == 200 for url in servers)
    in_use.delete()
    assert seconds_until(servers, other, lambda a: a[0] == 404) <= BOUND


def test_a_clean_shutdown_writes_the_uses_a_worker_held(
    tmp_path: Path, transactional_db: None, in_use: OAuth2AuthorizationCode
) -> None:
    _, secret = ApiToken.create("mailer")
    held = {**AS_SHIPPED, "USE_RECORD_DELAY_SECONDS": "60"}  # its thread would wait a minute
    with gunicorn(tmp_path, "--workers", "1", env=held) as url:
        assert ask(url, secret) == (200, "AT-live")
        assert not AuditEntry.objects.filter(action="token_issued").exists()
    entry = AuditEntry.objects.get(action="token_issued")
    assert entry.detail == "Issued to API token “mailer”" and entry.artifact_id == in_use.pk
