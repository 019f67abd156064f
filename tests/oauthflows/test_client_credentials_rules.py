"""Rules of OAuth2 Client Credentials that guard a token's life, each with a test that
fails when the rule is dropped: an artifact that needs a person hands out no token (even a
valid one), a failure waits 30 s or the provider's Retry-After, and reserved keys are
refused in every part of the request."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import responses
from django.test import Client
from django.utils import timezone

from api.models import ApiToken
from oauthflows.client_credentials import fetch_token
from securitymaterial.models import ErrorKind, OAuth2ClientCredentials, Status
from tests.oauthflows.test_client_credentials import fetched
from tests.securitymaterial.test_other_types_pages import add, management

TOKEN_URL = "https://auth.example.com/cc-token"


@pytest.fixture
def artifact(db: None) -> OAuth2ClientCredentials:
    return OAuth2ClientCredentials.objects.create(
        name="Billing_Client",
        token_service_url=TOKEN_URL,
        client_id="billing",
        client_secret="cc-Plain-1",
        scope="read",
    )


def test_a_valid_token_is_not_handed_out_while_the_artifact_needs_a_person(
    artifact: OAuth2ClientCredentials,
) -> None:
    """A failed Fetch Token said the settings are wrong; the old token still works, but the
    admin must act first: 409, as for authorization-code artifacts."""
    OAuth2ClientCredentials.objects.filter(pk=artifact.pk).update(
        access_token="AT-still-valid",
        access_token_expires_at=timezone.now() + timedelta(hours=1),
        access_token_fetched_at=timezone.now(),
        status=Status.ERROR,
        error_kind=ErrorKind.CONFIGURATION,
        status_reason="The client secret is wrong.",
    )
    _, secret = ApiToken.create("billing")
    response = Client().get(
        "/api/v1/security-material/Billing_Client/access-token",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 409
    assert "needs an admin" in response.json()["detail"]
    assert "AT-still-valid" not in response.content.decode()


@responses.activate
@pytest.mark.parametrize(("headers", "waits"), [({}, 30), ({"Retry-After": "120"}, 120)])
def test_after_a_failure_the_next_request_waits_30_s_or_what_the_provider_asked(
    artifact: OAuth2ClientCredentials, headers: dict[str, str], waits: int
) -> None:
    responses.post(TOKEN_URL, status=503, headers=headers, body="busy")
    before = timezone.now()
    failed = fetched(artifact.pk)
    assert failed.error_kind == ErrorKind.TRANSIENT
    assert failed.retry_at is not None
    assert abs((failed.retry_at - before).total_seconds() - waits) < 5
    # Meanwhile a consumer's call does not ask the provider again.
    fetch_token(artifact.pk, unless_valid_for=timedelta(minutes=5))
    assert len(responses.calls) == 1


@pytest.mark.parametrize("part", ["body", "header", "url"])
@pytest.mark.parametrize("key", ["client_id", "CLIENT_SECRET", "grant_type"])
def test_reserved_keys_are_refused_in_every_part(admin_client: Client, key: str, part: str) -> None:
    rows = [{"key": key, "value": "x", "send_as": part}]
    response = add(admin_client, "oauth2-client-credentials", **management(rows))
    assert response.status_code == 400
    assert "is set by the service itself" in response.content.decode()
    assert not OAuth2ClientCredentials.objects.exists()


def test_the_client_refuses_reserved_keys_even_if_stored(
    artifact: OAuth2ClientCredentials,
) -> None:
    """Defence in depth: a row written past the form (an old version, a restore) is not
    sent either."""
    artifact.custom_parameters = [{"key": "client_secret", "value": "x", "send_as": "url"}]
    artifact.save()
    with responses.RequestsMock() as mocked:
        failed = fetched(artifact.pk)
        assert not mocked.calls
    assert failed.status == Status.ERROR and "client_secret" in failed.status_reason
    assert json.dumps(failed.custom_parameters)  # still stored, for the admin to fix
