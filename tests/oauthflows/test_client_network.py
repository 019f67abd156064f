"""Token requests against real sockets that misbehave: every failure is a classified
TokenError, and no request outlives TOKEN_REQUEST_TIMEOUT_SECONDS."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from oauthflows import client, refresh
from oauthflows.models import AuthorizationState
from oauthproviders import Generic
from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode, Status
from tests.oauthflows.conftest import start
from tests.support.http_servers import MisbehavingTokenEndpoint

CREDENTIALS = client.ClientAuth("client-1", "s3cret", "body")


@pytest.fixture(autouse=True)
def _one_second_deadline(settings: Any) -> None:
    settings.TOKEN_REQUEST_TIMEOUT = 1


def refresh_at(url: str) -> client.TokenResult:
    return client.refresh(Generic, url, CREDENTIALS, refresh_token="RT-1", scope="")


@pytest.mark.parametrize("mode", ["stall", "truncate", "trickle"])
def test_a_broken_answer_is_a_transient_error_within_the_deadline(mode: str) -> None:
    with MisbehavingTokenEndpoint(mode) as server:
        started = time.monotonic()
        with pytest.raises(client.TransientTokenError) as caught:
            refresh_at(server.url)
        elapsed = time.monotonic() - started
    assert server.connections == 1
    assert elapsed < 5, "the request outlived its deadline by far"
    expected = {
        "stall": "took longer than the 1 s allowed for a token request",
        "trickle": "took longer than the 1 s allowed for a token request",
        "truncate": "The connection broke while reading the answer.",
    }[mode]
    assert expected in caught.value.message


def test_a_closed_port_is_a_transient_error() -> None:
    with MisbehavingTokenEndpoint("stall") as server:
        url = server.url
    with pytest.raises(client.TransientTokenError, match="could not be reached"):
        refresh_at(url)


def test_a_callback_whose_token_answer_stalls_says_so_and_is_audited(
    admin_client: Client, make_artifact: Any
) -> None:
    with MisbehavingTokenEndpoint("stall") as server:
        artifact = make_artifact(token_service_url=server.url)
        params = start(admin_client, artifact)
        response = admin_client.get(
            reverse("oauthflows:callback"), {"code": "the-code", "state": params["state"]}
        )
    assert response.status_code == 502
    assert "took longer than the 1 s allowed" in response.content.decode()
    assert not AuthorizationState.objects.exists()
    entry = AuditEntry.objects.get(action="authorization_failed")
    assert "took longer than the 1 s allowed" in entry.detail
    assert OAuth2AuthorizationCode.objects.get(pk=artifact.pk).status == Status.UNAUTHORIZED


def test_a_refresh_whose_answer_is_cut_off_retries_with_backoff(make_artifact: Any) -> None:
    now = timezone.now()
    with MisbehavingTokenEndpoint("truncate") as server:
        artifact = make_artifact(
            token_service_url=server.url,
            status=Status.DEPLOYED,
            refresh_token="RT-old",
            access_token="AT-old",
            refresh_token_expiry_days=90,
            refresh_token_renewed_at=now - timedelta(days=46),
        )
        outcome = refresh.refresh_artifact(artifact.pk)
    assert outcome.action == "retrying"
    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert stored.status == Status.ERROR
    assert stored.error_kind == "transient"
    assert stored.retry_at is not None and stored.retry_at > now
    assert stored.next_refresh_at == stored.retry_at
    assert stored.refresh_token == "RT-old"
    assert "The connection broke while reading the answer." in stored.status_reason


@pytest.mark.parametrize(
    ("mode", "action", "message"),
    [
        ("garbage", "retrying", "did not answer with JSON (HTTP 200)"),
        ("html", "retrying", "did not answer with JSON (HTTP 200)"),
        ("huge", "retrying", "answer was too large"),
        ("redirect", "needs a person", "answered with a redirect (HTTP 307)"),
    ],
)
def test_an_answer_that_is_not_a_token_keeps_the_tokens_and_says_what_came(
    make_artifact: Any, mode: str, action: str, message: str
) -> None:
    """A 10 MB body is not read past the limit; a redirect is not followed, so the refresh
    token and the client secret are not posted on to wherever it points."""
    with MisbehavingTokenEndpoint(mode) as server:
        artifact = make_artifact(
            token_service_url=server.url,
            status=Status.DEPLOYED,
            refresh_token="RT-old",
            access_token="AT-old",
        )
        outcome = refresh.refresh_artifact(artifact.pk, force=True)
    assert (outcome.action, server.paths) == (action, ["/token"])
    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert (stored.refresh_token, stored.access_token) == ("RT-old", "AT-old")
    assert message in stored.status_reason
    assert stored.status == Status.ERROR


# ALLOW_PRIVATE_TOKEN_ENDPOINTS, checked again when connecting: a DNS name that pointed
# elsewhere when the artifact was saved may point inside now.


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_internal_addresses_are_refused_before_connecting(settings: Any, host: str) -> None:
    settings.ALLOW_PRIVATE_TOKEN_ENDPOINTS = False
    settings.ALLOW_LOOPBACK_TOKEN_ENDPOINTS = False
    with MisbehavingTokenEndpoint("truncate") as server:
        url = server.url.replace("127.0.0.1", host)
        with pytest.raises(client.ConfigurationError, match="points to an internal address"):
            refresh_at(url)
    assert server.connections == 0


def test_internal_addresses_are_reached_when_allowed(settings: Any) -> None:
    settings.ALLOW_PRIVATE_TOKEN_ENDPOINTS = True
    with MisbehavingTokenEndpoint("truncate") as server, pytest.raises(client.TransientTokenError):
        refresh_at(server.url)
    assert server.connections == 1


def test_token_requests_ignore_proxies_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A proxy variable set for other reasons must not receive client secrets, and the
    address check must see the real destination."""
    with (
        MisbehavingTokenEndpoint("truncate") as proxy,
        MisbehavingTokenEndpoint("truncate") as server,
    ):
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
            monkeypatch.setenv(name, proxy.url.removesuffix("/token"))
        with pytest.raises(client.TransientTokenError):
            refresh_at(server.url)
    assert (proxy.connections, server.connections) == (0, 1)
