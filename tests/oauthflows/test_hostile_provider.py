"""Hostile input, third round (issue 17), from token endpoints: numbers no clock can hold
and account names no column can, each once a 500 (after the code was spent, or on every
consumer call without back-off). Clamped to sane bounds or neutralised; the tokens kept."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
import responses
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from oauthflows import refresh
from securitymaterial.models import OAuth2AuthorizationCode, Status
from tests.oauthflows.conftest import start

TOKEN_URL = "https://auth.example.com/token"
YEAR = 365 * 24 * 3600
DAY = 24 * 3600


def answer(expires_in: str) -> str:
    return (
        '{"access_token": "AT-new", "token_type": "Bearer", "refresh_token": "RT-new", '
        f'"expires_in": {expires_in}}}'
    )


@pytest.fixture
def expiring(make_artifact: Any) -> OAuth2AuthorizationCode:
    artifact: OAuth2AuthorizationCode = make_artifact(
        status=Status.DEPLOYED,
        access_token="AT-old",
        refresh_token="RT-old",
        refresh_token_expiry_days=90,
        refresh_token_renewed_at=timezone.now() - timedelta(hours=1),
        access_token_expires_at=timezone.now() + timedelta(seconds=30),
    )
    return artifact


@responses.activate
@pytest.mark.parametrize("expires_in", ["1e30", "Infinity", "10000000000000000000000", '"1e30"'])
def test_a_lifetime_no_clock_can_hold_is_clamped_to_a_year_and_the_token_served(
    expiring: OAuth2AuthorizationCode, expires_in: str
) -> None:
    responses.post(TOKEN_URL, body=answer(expires_in), content_type="application/json")
    _, secret = ApiToken.create("consumer")
    response = Client().get(
        "/api/v1/security-material/Generic_App/access-token",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 200, response.content
    assert response.json()["access_token"] == "AT-new"
    stored = OAuth2AuthorizationCode.objects.get(pk=expiring.pk)
    assert stored.refresh_token == "RT-new"
    if expires_in != '"1e30"':  # a string that is no integer: lifetime unknown
        assert stored.access_token_expires_at is not None
        life = (stored.access_token_expires_at - timezone.now()).total_seconds()
        assert YEAR - 60 < life <= YEAR


@responses.activate
@pytest.mark.parametrize("retry_after", ["100000000000000000000", "\u00b2", "9" * 5000])
def test_a_retry_after_no_clock_can_hold_waits_at_most_a_day(
    expiring: OAuth2AuthorizationCode, retry_after: str
) -> None:
    responses.post(TOKEN_URL, status=503, headers={"Retry-After": retry_after}, body="busy")
    outcome = refresh.refresh_artifact(expiring.pk, force=True)
    assert outcome.action == "retrying"
    stored = OAuth2AuthorizationCode.objects.get(pk=expiring.pk)
    assert stored.retry_at is not None
    assert (stored.retry_at - timezone.now()).total_seconds() <= DAY + 60
    assert len(responses.calls) == 1


def id_token(account: str) -> str:
    claims = base64.urlsafe_b64encode(json.dumps({"email": account}).encode()).decode()
    return f"e30.{claims}.x"


@responses.activate
@pytest.mark.parametrize(
    ("account", "shown"),
    [
        ("a" * 300 + "@example.com", "a" * 254),
        ("mailer\x00@example.com", "mailer@example.com"),
        ("mailer\u202e@example.com", "mailer@example.com"),
    ],
)
def test_a_code_exchange_keeps_its_tokens_whatever_the_account_name_or_lifetime(
    admin_client: Client, make_artifact: Any, account: str, shown: str
) -> None:
    artifact = make_artifact(user_name="")
    responses.post(
        TOKEN_URL,
        body=json.dumps(
            {
                "access_token": "AT-1",
                "token_type": "Bearer",
                "refresh_token": "RT-1",
                "expires_in": 1e30,
                "id_token": id_token(account),
            }
        ),
        content_type="application/json",
    )
    params = start(admin_client, artifact)
    response = admin_client.get(
        reverse("oauthflows:callback"), {"code": "c", "state": params["state"]}
    )
    assert response.status_code == 302
    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert stored.status == Status.DEPLOYED and stored.refresh_token == "RT-1"
    assert stored.authorized_account == shown


@responses.activate
@pytest.mark.parametrize("secret", ["s", "e", "error", "_"])
def test_the_error_code_is_classified_as_sent_whatever_the_client_secret(
    expiring: OAuth2AuthorizationCode, secret: str
) -> None:
    """A short client secret that occurs inside the code once made server_error read
    "[redacted]erver_error", and a temporary failure ask for an admin."""
    OAuth2AuthorizationCode.objects.filter(pk=expiring.pk).update(
        client_secret=OAuth2AuthorizationCode._meta.get_field("client_secret").get_prep_value(
            secret
        )
    )
    responses.post(TOKEN_URL, status=500, json={"error": "server_error"})
    outcome = refresh.refresh_artifact(expiring.pk, force=True)
    assert outcome.action == "retrying"
    stored = OAuth2AuthorizationCode.objects.get(pk=expiring.pk)
    assert "[redacted]" not in stored.status_reason
    assert not stored.needs_person


def test_a_short_secret_is_redacted_where_it_stands_alone_not_inside_words() -> None:
    from securitymaterial.redaction import redact

    assert redact("server_error: bad secret s9 given", ["s9"]) == (
        "server_error: bad secret [redacted] given"
    )
    assert redact("s9x and xs9 and s9", ["s9"]) == "s9x and xs9 and [redacted]"
