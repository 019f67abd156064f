"""OAuth2 Client Credentials against the real test OAuth server (django-oauth-toolkit):
both client authentication methods, form and JSON bodies, custom parameters in the body,
a header and the URL, and what a failure leaves behind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from oauthflows import access
from oauthflows.client_credentials import fetch_token
from securitymaterial.models import AuditEntry, ErrorKind, OAuth2ClientCredentials, Status
from tests.conftest import raw_rows
from tests.support.oauth_server import OAuthServer

SECRET = "cc-secret-Value.1"


@pytest.fixture
def make_client_credentials(
    db: None, oauth_server: OAuthServer
) -> Callable[..., OAuth2ClientCredentials]:
    def make(client_id: str, auth: str = "body", **fields: Any) -> OAuth2ClientCredentials:
        oauth_server.register_client(
            client_id,
            SECRET,
            "http://localhost/unused",
            auth_method=auth,
            grant="client-credentials",
        )
        values: dict[str, Any] = {
            "name": f"CC_{client_id}",
            "token_service_url": f"{oauth_server.url}/o/token/",
            "client_id": client_id,
            "client_secret": SECRET,
            "client_authentication": auth,
            "scope": "read",
        }
        values.update(fields)
        return OAuth2ClientCredentials.objects.create(**values)

    return make


def fetched(pk: int, **kwargs: Any) -> OAuth2ClientCredentials:
    """fetch_token, then the artifact as it stored the outcome."""
    fetch_token(pk, **kwargs)
    return OAuth2ClientCredentials.objects.get(pk=pk)


def last_request(oauth_server: OAuthServer) -> dict[str, Any]:
    return oauth_server.token_requests()[-1]


def test_a_form_body_with_the_secret_in_the_body_gets_a_token(
    make_client_credentials: Any, oauth_server: OAuthServer
) -> None:
    artifact = make_client_credentials("cc-body")
    assert artifact.status == Status.STORED

    artifact = fetched(artifact.pk)

    assert artifact.status == Status.DEPLOYED, artifact.status_reason
    assert artifact.access_token and artifact.access_token_expires_at is not None
    seen = last_request(oauth_server)
    assert seen["content_type"] == "application/x-www-form-urlencoded"
    assert seen["grant_type"] == "client_credentials" and seen["scope"] == "read"
    assert seen["basic"] is False and "client_secret" in seen["body_keys"]
    assert artifact.access_token not in str(raw_rows("securitymaterial_oauth2clientcredentials"))
    assert SECRET not in str(raw_rows("securitymaterial_oauth2clientcredentials"))


def test_a_json_body_with_the_secret_in_a_basic_header_gets_a_token(
    make_client_credentials: Any, oauth_server: OAuthServer
) -> None:
    artifact = make_client_credentials("cc-basic", auth="basic", content_type="application/json")

    artifact = fetched(artifact.pk)

    assert artifact.status == Status.DEPLOYED, artifact.status_reason
    seen = last_request(oauth_server)
    assert seen["content_type"] == "application/json"
    assert seen["basic"] is True and "client_secret" not in seen["body_keys"]


def test_custom_parameters_arrive_in_the_body_a_header_and_the_url(
    make_client_credentials: Any, oauth_server: OAuthServer
) -> None:
    artifact = make_client_credentials(
        "cc-custom", resource="https://api.example.com", audience="urn:billing"
    )
    artifact.custom_parameters = [
        {"key": "x_region", "value": "eu-west", "send_as": "body"},
        {"key": "X-Tenant-Id", "value": "tenant-42", "send_as": "header"},
        {"key": "api-version", "value": "2024-01", "send_as": "url"},
    ]
    artifact.save()

    stored = fetched(artifact.pk)
    assert stored.status == Status.DEPLOYED, stored.status_reason

    seen = last_request(oauth_server)
    assert seen["body_x"] == {"x_region": "eu-west"}
    assert seen["headers"]["X-Tenant-Id"] == "tenant-42"
    assert seen["query"] == {"api-version": "2024-01"}
    assert (seen["resource"], seen["audience"]) == ("https://api.example.com", "urn:billing")


def test_a_wrong_secret_is_a_configuration_error_that_says_so_and_waits_for_an_edit(
    make_client_credentials: Any, oauth_server: OAuthServer
) -> None:
    artifact = make_client_credentials("cc-wrong", client_secret="not-the-secret-XYZ")

    artifact = fetched(artifact.pk)

    assert artifact.status == Status.ERROR
    assert artifact.error_kind == ErrorKind.CONFIGURATION and artifact.needs_person
    assert "Correct the artifact with Edit" in artifact.status_hint
    assert "not-the-secret-XYZ" not in artifact.status_reason
    entry = AuditEntry.objects.get(artifact=artifact)
    assert entry.action == AuditEntry.Action.TOKEN_FETCH_FAILED
    requests_before = len(oauth_server.token_requests())
    with pytest.raises(access.TokenUnavailable) as refused:
        access.issue(artifact, via="a test")
    assert refused.value.needs_person
    assert len(oauth_server.token_requests()) == requests_before  # not asked again


def test_a_consumer_gets_a_token_fetched_on_demand_then_the_cached_one(
    make_client_credentials: Any, oauth_server: OAuthServer
) -> None:
    artifact = make_client_credentials("cc-demand")

    first = access.issue(artifact, via="a test")
    second = access.issue(OAuth2ClientCredentials.objects.get(pk=artifact.pk), via="a test")

    assert first.access_token == second.access_token
    assert oauth_server.access_tokens_issued("cc-demand") == 1
    stored = OAuth2ClientCredentials.objects.get(pk=artifact.pk)
    assert stored.status == Status.DEPLOYED and stored.last_used_at is not None


def test_a_token_within_five_minutes_of_expiry_is_replaced(
    make_client_credentials: Any, oauth_server: OAuthServer
) -> None:
    artifact = fetched(make_client_credentials("cc-expiring").pk)
    old = artifact.access_token
    now = timezone.now()
    OAuth2ClientCredentials.objects.filter(pk=artifact.pk).update(
        access_token_fetched_at=now - timedelta(minutes=56),
        access_token_expires_at=now + timedelta(minutes=4),
    )

    issued = access.issue(OAuth2ClientCredentials.objects.get(pk=artifact.pk), via="a test")

    assert issued.access_token != old
    assert oauth_server.access_tokens_issued("cc-expiring") == 2


def test_a_consumer_that_loaded_a_stale_copy_finds_the_new_token_under_the_lock(
    make_client_credentials: Any, oauth_server: OAuthServer
) -> None:
    """What makes concurrent consumers cause one request: the check is made again after the
    lock, on the row as it is now, not on the copy the consumer read before."""
    stale = make_client_credentials("cc-stale")
    fresh = fetched(stale.pk)  # another consumer got there first
    assert stale.access_token == "" and fresh.access_token

    again = access.issue(stale, via="a consumer with a stale copy")

    assert again.access_token == fresh.access_token
    assert oauth_server.access_tokens_issued("cc-stale") == 1


def test_after_a_transient_failure_consumers_wait_before_the_provider_is_asked_again(
    make_client_credentials: Any, oauth_server: OAuthServer
) -> None:
    artifact = make_client_credentials("cc-down", token_service_url="http://127.0.0.1:9/token")
    artifact = fetched(artifact.pk)
    assert artifact.status == Status.ERROR and artifact.error_kind == ErrorKind.TRANSIENT
    assert artifact.retry_at is not None and artifact.retry_at > timezone.now()
    attempted = artifact.last_attempt_at

    with pytest.raises(access.TokenUnavailable) as refused:
        access.issue(artifact, via="a test")

    assert not refused.value.needs_person and refused.value.retry_after
    assert OAuth2ClientCredentials.objects.get(pk=artifact.pk).last_attempt_at == attempted


def test_the_outcome_says_what_happened_as_the_refresh_services_does(
    make_client_credentials: Any,
) -> None:
    artifact = make_client_credentials("cc-outcome")
    assert str(fetch_token(artifact.pk)) == "CC_cc-outcome: fetched"
    again = fetch_token(artifact.pk, unless_valid_for=timedelta(minutes=5))
    assert (again.action, again.detail) == ("skipped", "a valid token is stored")
