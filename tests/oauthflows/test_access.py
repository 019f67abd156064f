"""Access tokens for consumers: refresh on demand, the cap, failures as beat's, the audit."""

from __future__ import annotations

import base64
import threading
from datetime import timedelta
from typing import Any

import pytest
import responses
import time_machine
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from oauthflows import access
from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode, Status
from tests.support.oauth_server import OAuthServer

TOKEN_URL = "https://auth.example.com/token"
NEW = {
    "access_token": "AT-new",
    "token_type": "Bearer",
    "expires_in": 3600,
    "refresh_token": "RT-new",
}


def artifact_expiring_in(
    make_artifact: Any, seconds: int, lifetime: int = 3600, name: str = "Generic_App"
) -> Any:
    now = timezone.now()
    expires = now + timedelta(seconds=seconds)
    return make_artifact(
        name=name,
        status=Status.DEPLOYED,
        user_name="mailer@example.com",
        access_token="AT-old",
        refresh_token="RT-old",
        refresh_token_expiry_days=90,
        access_token_expires_at=expires,
        refresh_token_renewed_at=expires - timedelta(seconds=lifetime),
        token_scope="read write",
    )


def issue(artifact: Any, **kw: Any) -> access.IssuedToken:
    return access.issue(artifact, via="a test", **kw)


@responses.activate
def test_a_token_valid_long_enough_is_handed_out_without_a_request(make_artifact: Any) -> None:
    artifact = artifact_expiring_in(make_artifact, 3000)
    token = issue(artifact)
    assert (token.access_token, token.scope, token.token_type) == ("AT-old", "read write", "Bearer")
    assert len(responses.calls) == 0
    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert stored.last_used_at is not None  # counts as use: beat now keeps it fresh ahead
    entry = AuditEntry.objects.get(action="token_issued")
    assert entry.detail == "Issued to a test" and "AT-old" not in str(entry.__dict__)


@responses.activate
def test_a_token_expiring_too_soon_is_refreshed_first_and_the_rotation_kept(
    make_artifact: Any,
) -> None:
    responses.post(TOKEN_URL, json=NEW)
    artifact = artifact_expiring_in(make_artifact, 120)
    token = issue(artifact, min_valid_seconds=300)
    assert token.access_token == "AT-new"
    assert len(responses.calls) == 1
    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert (stored.access_token, stored.refresh_token) == ("AT-new", "RT-new")


@responses.activate
def test_min_valid_seconds_is_capped_at_half_the_tokens_lifetime(make_artifact: Any) -> None:
    # A 10-minute token with 4 minutes left: asking for an hour means asking for 5 minutes.
    responses.post(TOKEN_URL, json=NEW)
    artifact = artifact_expiring_in(make_artifact, 240, lifetime=600)
    assert artifact.access_token_margin(3600) == timedelta(seconds=300)
    assert issue(artifact, min_valid_seconds=3600).access_token == "AT-new"
    fresh = artifact_expiring_in(make_artifact, 360, lifetime=600, name="Other")
    assert issue(fresh, min_valid_seconds=3600).access_token == "AT-old"
    assert len(responses.calls) == 1


@responses.activate
def test_a_provider_outage_hands_out_the_old_token_while_it_is_valid(make_artifact: Any) -> None:
    responses.post(TOKEN_URL, status=503, headers={"Retry-After": "120"})
    artifact = artifact_expiring_in(make_artifact, 100)
    assert issue(artifact, min_valid_seconds=300).access_token == "AT-old"
    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert (stored.status, stored.error_kind) == (Status.ERROR, "transient")
    assert stored.retry_at is not None
    # During the backoff, further consumers do not call the provider again.
    issue(stored, min_valid_seconds=300)
    assert len(responses.calls) == 1


@responses.activate
def test_an_outage_with_no_valid_token_left_says_when_to_try_again(make_artifact: Any) -> None:
    responses.post(TOKEN_URL, status=503, headers={"Retry-After": "120"})
    artifact = artifact_expiring_in(make_artifact, -10)
    with pytest.raises(access.TokenUnavailable) as caught:
        issue(artifact)
    assert not caught.value.needs_person
    assert caught.value.retry_after is not None and caught.value.retry_after >= 120
    assert "has no valid access token right now" in caught.value.message
    assert not AuditEntry.objects.filter(action="token_issued").exists()


@responses.activate
def test_a_rejected_grant_needs_a_person_exactly_as_when_beat_meets_it(
    make_artifact: Any,
) -> None:
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    artifact = artifact_expiring_in(make_artifact, -10)
    with pytest.raises(access.TokenUnavailable) as caught:
        issue(artifact)
    assert caught.value.needs_person
    assert "Choose Authorize to sign in again" in caught.value.message
    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert stored.needs_person
    assert AuditEntry.objects.filter(action="refresh_failed").count() == 1
    assert len(mail.outbox) == 1


def test_an_unauthorized_artifact_needs_a_person(make_artifact: Any) -> None:
    with pytest.raises(access.TokenUnavailable, match="is not authorized") as caught:
        issue(make_artifact())
    assert caught.value.needs_person


def test_the_xoauth2_string_is_the_sasl_initial_response() -> None:
    token = access.IssuedToken("ya29.token", None, "", "mailer@example.com")
    raw = base64.b64decode(token.sasl_xoauth2)
    assert raw == b"user=mailer@example.com\x01auth=Bearer ya29.token\x01\x01"
    assert "ya29" not in repr(token)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrency needs PostgreSQL")
def test_many_concurrent_consumers_of_an_expiring_token_cause_one_refresh(
    transactional_db: None, oauth_server: OAuthServer, make_artifact: Any
) -> None:
    oauth_server.register_client(
        "consumers", "consumer-secret", "http://localhost/oauth2/callback/", auth_method="body"
    )
    artifact = artifact_expiring_in(make_artifact, 30)
    OAuth2AuthorizationCode.objects.filter(pk=artifact.pk).update(
        client_id="consumers",
        client_secret="consumer-secret",
        token_service_url=f"{oauth_server.url}/o/token/",
        refresh_token=oauth_server.issue_refresh_token("consumers"),
    )
    artifact = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    start, tokens, errors = threading.Barrier(30), [], []

    def consumer() -> None:
        try:
            start.wait(timeout=60)
            tokens.append(issue(artifact).access_token)
        except Exception as error:  # reported below
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=consumer) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(tokens) == 30 and len(set(tokens)) == 1 and tokens[0] != "AT-old"
    assert oauth_server.refresh_tokens_issued("consumers") == 2  # the first, and one refresh


@responses.activate
def test_a_consumer_that_read_an_expiring_token_finds_the_one_refreshed_meanwhile(
    make_artifact: Any,
) -> None:
    """The check that decides to refresh runs again after the row lock: a consumer that
    loaded the artifact before another refreshed it spends no refresh token."""
    stale = artifact_expiring_in(make_artifact, 60)
    OAuth2AuthorizationCode.objects.filter(pk=stale.pk).update(
        access_token="AT-refreshed-meanwhile",
        access_token_expires_at=timezone.now() + timedelta(hours=1),
        refresh_token_renewed_at=timezone.now(),
    )
    assert issue(stale, min_valid_seconds=300).access_token == "AT-refreshed-meanwhile"
    assert len(responses.calls) == 0


def test_use_is_recorded_at_most_once_a_minute(make_artifact: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    artifact = artifact_expiring_in(make_artifact, 3000)
    issue(artifact)
    again = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    with CaptureQueriesContext(connection) as queries:
        issue(again)
    # No write at all on the hot path: neither the use nor another audit row.
    assert not [q for q in queries if q["sql"].startswith(("UPDATE", "INSERT"))]
    issued = AuditEntry.objects.filter(action="token_issued")
    assert issued.count() == 1
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        issue(OAuth2AuthorizationCode.objects.get(pk=artifact.pk))
    assert issued.count() == 2  # who uses it stays in the history, minute by minute
