"""Authorize: a CSRF-protected POST that records a single-use state and redirects."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from oauthflows.models import AuthorizationState, digest
from oauthflows.pkce import s256_challenge
from tests.conftest import raw_rows
from tests.oauthflows.conftest import start


def test_it_redirects_to_the_authorization_url_with_every_parameter(
    admin_client: Client, make_artifact: Any
) -> None:
    artifact = make_artifact(
        authorization_url="https://auth.example.com/authorize?prompt=consent&access_type=offline",
        user_name="mailer@example.com",
    )
    response = admin_client.post(reverse("oauthflows:authorize", args=[artifact.pk]))
    url = urlsplit(response["Location"])
    assert (url.scheme, url.netloc, url.path) == ("https", "auth.example.com", "/authorize")
    params = start(admin_client, artifact)
    assert params["prompt"] == "consent"
    assert params["access_type"] == "offline"
    assert params["client_id"] == "client-1"
    assert params["response_type"] == "code"
    assert params["redirect_uri"] == "http://127.0.0.1:8000/oauth2/callback/"
    assert params["scope"] == "read write"
    assert params["login_hint"] == "mailer@example.com"
    assert params["code_challenge_method"] == "S256"
    assert len(params["state"]) >= 43  # 256 bits, base64url
    assert "response_mode" not in params


def test_the_state_is_stored_hashed_with_an_encrypted_verifier(
    admin_client: Client, make_artifact: Any
) -> None:
    artifact = make_artifact()
    params = start(admin_client, artifact)
    record = AuthorizationState.objects.get()
    assert record.state_hash == digest(params["state"])
    assert s256_challenge(record.code_verifier) == params["code_challenge"]
    raw = str(raw_rows("oauthflows_authorizationstate"))
    assert params["state"] not in raw
    assert record.code_verifier not in raw
    assert record.token_service_url == artifact.token_service_url


def test_microsoft_365_asks_for_a_query_response_and_the_completed_scope(
    admin_client: Client, make_artifact: Any
) -> None:
    artifact = make_artifact(
        provider="microsoft365",
        authorization_url="https://login.microsoftonline.com/contoso.com/oauth2/v2.0/authorize",
        scope="https://outlook.office.com/SMTP.Send offline_access",
    )
    params = start(admin_client, artifact)
    assert params["response_mode"] == "query"
    assert params["scope"] == "https://outlook.office.com/SMTP.Send offline_access"


def test_pkce_can_be_turned_off_per_artifact(admin_client: Client, make_artifact: Any) -> None:
    params = start(admin_client, make_artifact(use_pkce=False, scope=""))
    assert "code_challenge" not in params
    assert "scope" not in params
    assert AuthorizationState.objects.get().code_verifier == ""


def test_get_is_not_allowed(admin_client: Client, make_artifact: Any) -> None:
    artifact = make_artifact()
    response = admin_client.get(reverse("oauthflows:authorize", args=[artifact.pk]))
    assert response.status_code == 405
    assert not AuthorizationState.objects.exists()


def test_a_post_without_csrf_token_is_refused(admin_user: Any, make_artifact: Any) -> None:
    artifact = make_artifact()
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(reverse("oauthflows:authorize", args=[artifact.pk]))
    assert response.status_code == 403
    assert not AuthorizationState.objects.exists()


@pytest.mark.parametrize("persona", ["reader_client", "outsider_client"])
def test_only_users_who_may_change_can_authorize(
    persona: str, request: Any, make_artifact: Any
) -> None:
    artifact = make_artifact()
    client: Client = request.getfixturevalue(persona)
    assert client.post(reverse("oauthflows:authorize", args=[artifact.pk])).status_code == 403
    assert not AuthorizationState.objects.exists()


def test_an_unknown_artifact_is_a_404(admin_client: Client, db: None) -> None:
    assert admin_client.post(reverse("oauthflows:authorize", args=[42])).status_code == 404
