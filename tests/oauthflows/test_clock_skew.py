"""Clocks that disagree by up to 5 minutes between the process that refreshed a token (and
stored its expiry as an absolute time) and the process that hands it out.

The bound (docs/security.md): with the default min_valid_seconds of 300, a skew of up to 5
minutes never hands out an expired token. A web clock behind the refresher's may hand out
one with 300 - skew seconds left; a clock ahead refreshes early, once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from api.models import ApiToken
from bench.token_server import TokenServer
from oauthflows import refresh
from securitymaterial.models import OAuth2AuthorizationCode, Status

SKEW = timedelta(minutes=5)


def fetch(secret: str, name: str) -> Any:
    return Client().get(
        f"/api/v1/security-material/{name}/access-token", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )


@pytest.mark.parametrize("worker_clock", [+SKEW, -SKEW], ids=["worker ahead", "worker behind"])
def test_a_token_refreshed_by_a_skewed_worker_is_served_without_another_refresh(
    make_artifact: Any, worker_clock: timedelta
) -> None:
    with TokenServer() as server:
        artifact = make_artifact(
            token_service_url=server.url,
            status=Status.DEPLOYED,
            refresh_token="RT-0",
            access_token="AT-0",
            access_token_expires_at=timezone.now(),
        )
        with time_machine.travel(timezone.now() + worker_clock, tick=False):
            assert refresh.refresh_artifact(artifact.pk, force=True).action == "refreshed"
        fetched = OAuth2AuthorizationCode.objects.get(pk=artifact.pk).access_token
        _, secret = ApiToken.create("consumer")
        answer = fetch(secret, artifact.name)  # the web's clock is the true one
    # The token the worker fetched (a 3600 s token) is served as it is: no second refresh.
    assert answer.status_code == 200
    assert answer.json()["access_token"] == fetched
    assert sum(server.spent.values()) == 1


@pytest.mark.parametrize("true_life", [1, -1], ids=["valid for 1 s", "expired 1 s ago"])
def test_a_web_clock_five_minutes_behind_never_hands_out_an_expired_token(
    make_artifact: Any, true_life: int
) -> None:
    true_now = timezone.now()
    with TokenServer() as server:
        artifact = make_artifact(
            token_service_url=server.url,
            status=Status.DEPLOYED,
            refresh_token="RT-1",
            access_token="AT-1",
            access_token_expires_at=true_now + timedelta(seconds=true_life),
        )
        _, secret = ApiToken.create("consumer")
        with time_machine.travel(true_now - SKEW, tick=False):  # the web's clock
            answer = fetch(secret, artifact.name)
    assert answer.status_code == 200
    if true_life > 0:  # 301 s to the web, over the 300 asked: served, and truly still valid
        assert answer.json()["access_token"] == "AT-1"
    else:  # 299 s to the web: refreshed first, so the expired one never goes out
        assert answer.json()["access_token"] != "AT-1"
        assert sum(server.spent.values()) == 1


def test_a_web_clock_five_minutes_ahead_refreshes_early_and_once(make_artifact: Any) -> None:
    true_now = timezone.now()
    with TokenServer() as server:
        artifact = make_artifact(
            token_service_url=server.url,
            status=Status.DEPLOYED,
            refresh_token="RT-2",
            access_token="AT-2",
            access_token_expires_at=true_now + timedelta(minutes=8),
        )
        _, secret = ApiToken.create("consumer")
        with time_machine.travel(true_now + SKEW, tick=False):  # the web's clock
            first = fetch(secret, artifact.name)
            second = fetch(secret, artifact.name)
    # 8 minutes left truly, 3 to the web: under the 300 s asked, so it refreshed, once.
    assert first.status_code == second.status_code == 200
    assert first.json()["access_token"] == second.json()["access_token"] != "AT-2"
    assert sum(server.spent.values()) == 1
    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert stored.access_token == first.json()["access_token"]
