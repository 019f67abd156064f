"""200 simulated days of beat ticks: the refresh token never expires, and the token endpoint
is called exactly as often as the policy says (time-machine moves the clock)."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses
import time_machine
from django.utils import timezone

from oauthflows import refresh
from securitymaterial.models import OAuth2AuthorizationCode, Status

TOKEN_URL = "https://auth.example.com/token"
START = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)


@dataclass
class RotatingTokenEndpoint:
    """Issues 60-minute access tokens; each refresh token works once and expires after 90
    days, like a strict rotating provider."""

    issued: dict[str, datetime] = field(default_factory=dict)
    counter: itertools.count = field(default_factory=itertools.count)  # type: ignore[type-arg]
    calls: int = 0

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.calls += 1
        token = parse_qs(request.body)["refresh_token"][0]
        issued_at = self.issued.pop(token, None)  # single use
        if issued_at is None or timezone.now() - issued_at > timedelta(days=90):
            return 400, {}, '{"error": "invalid_grant"}'
        new = f"RT-{next(self.counter)}"
        self.issued[new] = timezone.now()
        body = {
            "access_token": "AT",
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": new,
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body)


@pytest.fixture
def endpoint() -> Iterator[RotatingTokenEndpoint]:
    """The faked token endpoint, answering every refresh request of the test."""
    endpoint = RotatingTokenEndpoint()
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, TOKEN_URL, callback=endpoint)
        yield endpoint


def authorized_at_start(
    make_artifact: Any, endpoint: RotatingTokenEndpoint
) -> OAuth2AuthorizationCode:
    endpoint.issued["RT-first"] = START
    artifact: OAuth2AuthorizationCode = make_artifact(
        status=Status.DEPLOYED,
        refresh_token="RT-first",
        access_token="AT",
        refresh_token_expiry_days=90,
        refresh_token_renewed_at=START,
        access_token_expires_at=START + timedelta(hours=1),
    )
    artifact.reschedule(START)
    artifact.save()
    return artifact


def run_beat(
    traveller: Any, ticks: int, step: timedelta, capture: Any, before: Any = None, after: Any = None
) -> None:
    """Beat ticks with the clock moving `step` each, refreshing in the same process."""
    for _ in range(ticks):
        traveller.shift(step)
        if before:
            before()
        with capture(execute=True):
            refresh.dispatch_due(timezone.now(), refresh.refresh_batch)
        if after:
            after()


def test_200_days_unused_renews_the_refresh_token_every_45_days(
    make_artifact: Any, django_capture_on_commit_callbacks: Any, endpoint: RotatingTokenEndpoint
) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        artifact = authorized_at_start(make_artifact, endpoint)
        renewals: list[datetime] = []

        def never_expired() -> None:
            stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
            assert stored.status == Status.DEPLOYED, stored.status_hint
            assert stored.refresh_token_expires_at is not None
            assert stored.refresh_token_expires_at > timezone.now()
            assert stored.refresh_token_renewed_at is not None
            if not renewals or stored.refresh_token_renewed_at != renewals[-1]:
                renewals.append(stored.refresh_token_renewed_at)

        run_beat(
            traveller,
            200 * 24,
            timedelta(hours=1),
            django_capture_on_commit_callbacks,
            after=never_expired,
        )
        stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    # renewed at (about) day 45, 90, 135 and 180, each time within an hour's tick
    gaps = [later - earlier for earlier, later in itertools.pairwise(renewals)]
    assert endpoint.calls == 4
    assert len(gaps) == 4
    assert all(timedelta(days=45) <= gap <= timedelta(days=45, hours=1) for gap in gaps)
    assert re.fullmatch(r"RT-3", stored.refresh_token)


def test_an_artifact_in_use_gets_a_fresh_access_token_every_55_minutes(
    make_artifact: Any, django_capture_on_commit_callbacks: Any, endpoint: RotatingTokenEndpoint
) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        artifact = authorized_at_start(make_artifact, endpoint)

        def consumer_uses_it() -> None:
            stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
            stored.mark_used(timezone.now())
            assert stored.access_token_expires_at is not None
            assert stored.access_token_expires_at > timezone.now()  # never served expired

        run_beat(
            traveller,
            3 * 24 * 12,
            timedelta(minutes=5),
            django_capture_on_commit_callbacks,
            before=consumer_uses_it,
        )
    # three days of 5-minute ticks; due 5 minutes before each 60-minute token expires
    assert endpoint.calls == (3 * 24 * 60) // 55
    assert OAuth2AuthorizationCode.objects.get(pk=artifact.pk).status == Status.DEPLOYED


@pytest.mark.parametrize("days", [3, 10])
def test_short_refresh_token_expiries_stay_alive_too(
    make_artifact: Any,
    django_capture_on_commit_callbacks: Any,
    endpoint: RotatingTokenEndpoint,
    days: int,
) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        artifact = authorized_at_start(make_artifact, endpoint)
        OAuth2AuthorizationCode.objects.filter(pk=artifact.pk).update(
            refresh_token_expiry_days=days, next_refresh_at=START
        )
        run_beat(traveller, 30 * 24, timedelta(hours=1), django_capture_on_commit_callbacks)
        stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
        assert stored.status == Status.DEPLOYED
        assert stored.refresh_token_expires_at is not None
        assert stored.refresh_token_expires_at > timezone.now()
    renew_every = min(days / 2, days - 2)
    assert endpoint.calls == pytest.approx(30 / renew_every, abs=1)
