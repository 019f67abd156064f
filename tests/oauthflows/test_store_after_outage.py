"""Storing a rotated refresh token after the database went away: it keeps trying, with
backoff, for REFRESH_STORE_RETRY_SECONDS measured from when it started (and no longer),
and every process that may run a refresh outlives that (securitymaterial.E004)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import checks
from django.db import OperationalError

from config import gunicorn
from oauthflows import client, refresh
from securitymaterial.models import OAuth2AuthorizationCode, Status


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.pauses: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(refresh.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(refresh.time, "sleep", fake.sleep)
    return fake


def database_away_for(attempts: int, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The first `attempts` tries to lock the row fail as a restarting database does."""
    tries: list[int] = []
    real = OAuth2AuthorizationCode.locked

    @contextlib.contextmanager
    def flaky(pk: int) -> Iterator[OAuth2AuthorizationCode]:
        tries.append(pk)
        if len(tries) <= attempts:
            raise OperationalError("the database system is starting up")
        with real(pk) as artifact:
            yield artifact

    monkeypatch.setattr(OAuth2AuthorizationCode, "locked", flaky)
    return tries


def answer(spent: str) -> Any:
    rotated = client.TokenResult(
        access_token="AT-new",
        token_type="Bearer",
        expires_in=3600,
        refresh_token="RT-rotated",
        scope="read",
    )
    return refresh._Answer(result=rotated, spent=spent)


def test_it_keeps_trying_with_backoff_until_the_database_is_back(
    transactional_db: None,
    make_artifact: Any,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    settings.REFRESH_STORE_RETRY_SECONDS = 60  # the documented default
    artifact = make_artifact(status=Status.DEPLOYED, refresh_token="RT-spent")
    tries = database_away_for(6, monkeypatch)
    outcome = refresh._store_after_outage(artifact.pk, answer("RT-spent"))
    assert (outcome.action, outcome.detail) == ("refreshed", "stored once the database was back")
    assert len(tries) == 7
    assert clock.pauses == [0.5, 1, 2, 4, 5, 5]
    assert OAuth2AuthorizationCode.objects.get(pk=artifact.pk).refresh_token == "RT-rotated"


def test_it_gives_up_after_the_retry_time_counted_from_its_start(
    transactional_db: None,
    make_artifact: Any,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    settings.REFRESH_STORE_RETRY_SECONDS = 60
    artifact = make_artifact(status=Status.DEPLOYED, refresh_token="RT-spent")
    database_away_for(1000, monkeypatch)
    started = clock.now
    with pytest.raises(OperationalError):
        refresh._store_after_outage(artifact.pk, answer("RT-spent"))
    assert 55 <= clock.now - started <= 60


def test_the_web_worker_and_the_task_outlive_a_refresh_that_waits_for_the_database(
    settings: Any,
) -> None:
    assert gunicorn.timeout == 120 and gunicorn.graceful_timeout == 120
    assert gunicorn.timeout == settings.WEB_WORKER_TIMEOUT
    assert not [m for m in checks.run_checks() if m.id == "securitymaterial.E004"]
    settings.REFRESH_STORE_RETRY_SECONDS = 100  # 25 + 100 + 10 > 120 and > 115
    errors = [m for m in checks.run_checks() if m.id == "securitymaterial.E004"]
    assert len(errors) == 2
    assert "gunicorn's timeout" in errors[1].msg + errors[0].msg
