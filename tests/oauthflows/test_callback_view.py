"""The Redirect URL callback: each step, each failure, and a clean success."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
import requests
import responses
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from responses import matchers

from oauthflows.models import AuthorizationState
from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode, Status
from tests.conftest import CLIENT_SECRET, PASSWORD, raw_rows
from tests.oauthflows.conftest import start

CALLBACK = reverse("oauthflows:callback")
TOKEN_URL = "https://auth.example.com/token"
CODE = "code-from-the-provider"
ACCESS_TOKEN = "eyJ.access-token.value"
REFRESH_TOKEN = "refresh-token-value-0001"
TOKENS = {
    "access_token": ACCESS_TOKEN,
    "token_type": "Bearer",
    "expires_in": 3600,
    "refresh_token": REFRESH_TOKEN,
    "scope": "read write",
}


@pytest.fixture
def artifact(make_artifact: Any) -> OAuth2AuthorizationCode:
    return make_artifact(user_name="mailer@example.com")  # type: ignore[no-any-return]


def reload(artifact: OAuth2AuthorizationCode) -> OAuth2AuthorizationCode:
    return OAuth2AuthorizationCode.objects.get(pk=artifact.pk)


@responses.activate
def test_a_successful_callback_stores_encrypted_tokens_and_redirects_to_a_clean_url(
    admin_client: Client, artifact: OAuth2AuthorizationCode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    params = start(admin_client, artifact)
    verifier = AuthorizationState.objects.get().code_verifier
    responses.post(
        TOKEN_URL,
        json=TOKENS,
        match=[
            matchers.urlencoded_params_matcher(
                {
                    "grant_type": "authorization_code",
                    "code": CODE,
                    "redirect_uri": "http://127.0.0.1:8000/oauth2/callback/",
                    "code_verifier": verifier,
                    "scope": "read write",
                    "client_id": "client-1",
                    "client_secret": CLIENT_SECRET,
                }
            )
        ],
    )
    response = admin_client.get(CALLBACK, {"code": CODE, "state": params["state"]})
    assert response.status_code == 302
    assert response["Location"] == reverse("securitymaterial:detail", args=[artifact.pk])
    stored = reload(artifact)
    assert stored.status == Status.DEPLOYED
    assert (stored.access_token, stored.refresh_token) == (ACCESS_TOKEN, REFRESH_TOKEN)
    assert stored.access_token_expires_at is not None
    assert stored.access_token_expires_at - timezone.now() > timedelta(minutes=59)
    assert stored.authorized_by is not None and stored.authorized_by.username == "ada"
    entry = AuditEntry.objects.get(action="authorized")
    assert entry.actor_name == "ada"
    raw = str(raw_rows("securitymaterial_oauth2authorizationcode"))
    assert ACCESS_TOKEN not in raw and REFRESH_TOKEN not in raw
    assert not AuthorizationState.objects.exists()
    detail = admin_client.get(response["Location"]).content.decode()
    assert "Generic_App is authorized and deployed." in detail
    assert "Refresh token last renewed" in detail
    for secret in (ACCESS_TOKEN, REFRESH_TOKEN, CODE, CLIENT_SECRET, verifier):
        assert secret not in detail
        assert secret not in caplog.text


def test_a_missing_state_changes_nothing(admin_client: Client, artifact: Any) -> None:
    response = admin_client.get(CALLBACK, {"code": CODE})
    assert response.status_code == 400
    assert "has no state parameter" in response.content.decode()
    assert reload(artifact).status == Status.UNAUTHORIZED


def test_an_unknown_state_is_refused(admin_client: Client, artifact: Any) -> None:
    response = admin_client.get(CALLBACK, {"code": CODE, "state": "forged"})
    assert response.status_code == 400
    assert "already used or is unknown" in response.content.decode()


@responses.activate
def test_a_reused_state_is_refused(admin_client: Client, artifact: Any) -> None:
    responses.post(TOKEN_URL, json=TOKENS)
    params = start(admin_client, artifact)
    assert admin_client.get(CALLBACK, {"code": CODE, "state": params["state"]}).status_code == 302
    again = admin_client.get(CALLBACK, {"code": CODE, "state": params["state"]})
    assert again.status_code == 400
    assert "already used or is unknown" in again.content.decode()
    assert len(responses.calls) == 1


def test_an_expired_state_is_refused_and_used_up(admin_client: Client, artifact: Any) -> None:
    params = start(admin_client, artifact)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        response = admin_client.get(CALLBACK, {"code": CODE, "state": params["state"]})
    assert response.status_code == 400
    assert "More than 10 minutes passed" in response.content.decode()
    assert not AuthorizationState.objects.exists()
    assert reload(artifact).status == Status.UNAUTHORIZED


@responses.activate
def test_a_state_from_another_session_is_refused_without_using_it_up(
    admin_client: Client, admin_user: User, artifact: Any
) -> None:
    responses.post(TOKEN_URL, json=TOKENS)
    params = start(admin_client, artifact)
    other_browser = Client()
    other_browser.force_login(admin_user)  # the same user, another session
    response = other_browser.get(CALLBACK, {"code": CODE, "state": params["state"]})
    assert response.status_code == 403
    assert "another user or in another browser session" in response.content.decode()
    assert reload(artifact).status == Status.UNAUTHORIZED
    assert len(responses.calls) == 0
    # The admin who started it can still finish it.
    assert admin_client.get(CALLBACK, {"code": CODE, "state": params["state"]}).status_code == 302
    assert reload(artifact).status == Status.DEPLOYED


@responses.activate
def test_a_state_started_by_another_user_is_refused_without_using_it_up(
    admin_client: Client, artifact: Any, make_artifact: Any
) -> None:
    responses.post(TOKEN_URL, json=TOKENS)
    params = start(admin_client, artifact)
    colleague = User.objects.create_superuser("bob", "bob@example.com", PASSWORD)
    client = Client()
    client.force_login(colleague)
    response = client.get(CALLBACK, {"code": CODE, "state": params["state"]})
    assert response.status_code == 403
    assert AuthorizationState.objects.count() == 1
    assert admin_client.get(CALLBACK, {"code": CODE, "state": params["state"]}).status_code == 302


def test_the_user_is_checked_even_when_the_session_matches(
    admin_client: Client, artifact: Any
) -> None:
    """Only the user differs (the session check alone would let it through)."""
    params = start(admin_client, artifact)
    colleague = User.objects.create_superuser("bob", "bob@example.com", PASSWORD)
    AuthorizationState.objects.update(user=colleague)
    response = admin_client.get(CALLBACK, {"code": CODE, "state": params["state"]})
    assert response.status_code == 403
    assert reload(artifact).status == Status.UNAUTHORIZED


@pytest.mark.parametrize("code", [" ", "\t", "code\nwith-a-line-break", "c\u00f6de"])
@responses.activate
def test_a_blank_or_malformed_code_is_never_sent_to_the_provider(
    admin_client: Client, artifact: Any, code: str
) -> None:
    responses.post(TOKEN_URL, json=TOKENS)
    params = start(admin_client, artifact)
    response = admin_client.get(CALLBACK, {"code": code, "state": params["state"]})
    assert response.status_code == 400
    assert "no usable authorization code" in response.content.decode()
    assert len(responses.calls) == 0


def test_an_overlong_state_is_called_what_it_is(admin_client: Client, artifact: Any) -> None:
    response = admin_client.get(CALLBACK, {"code": CODE, "state": "s" * 513})
    assert response.status_code == 400
    assert "far longer than any this service issues" in response.content.decode()


def test_access_denied_is_reported_as_cancelled(admin_client: Client, artifact: Any) -> None:
    params = start(admin_client, artifact)
    response = admin_client.get(
        CALLBACK,
        {"error": "access_denied", "error_description": "User declined", "state": params["state"]},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Authorization cancelled" in html
    assert "was cancelled at the provider. Nothing changed." in html
    assert reload(artifact).status == Status.UNAUTHORIZED


def test_a_provider_error_is_shown_escaped_with_support_ids(
    admin_client: Client, artifact: Any
) -> None:
    params = start(admin_client, artifact)
    response = admin_client.get(
        CALLBACK,
        {
            "error": "invalid_scope",
            "error_description": "<script>alert(1)</script> scope is bad",
            "state": params["state"],
            "trace_id": "trace-123",
            "correlation_id": "corr-456",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "The provider rejected the Scope." in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; scope is bad" in html
    assert "<script>alert(1)" not in html
    assert "trace ID trace-123, correlation ID corr-456" in html
    assert reload(artifact).status_reason.startswith("The last authorization failed")
    assert AuditEntry.objects.filter(action="authorization_failed").exists()


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            400,
            {"error": "invalid_grant", "error_codes": [54005], "trace_id": "t-1"},
            "This sign-in code was already redeemed. (AADSTS54005)",
        ),
        (
            401,
            {"error": "invalid_client", "error_codes": [7000215], "correlation_id": "c-1"},
            "Enter the secret&#x27;s Value from Entra ID, not its Secret ID.",
        ),
        (500, "Internal Server Error", "The token endpoint is unavailable (HTTP 500)."),
        (200, "<html>login</html>", "The token endpoint did not answer with JSON (HTTP 200)."),
    ],
)
@responses.activate
def test_token_endpoint_failures_show_a_clear_error_and_store_nothing(
    admin_client: Client, make_artifact: Any, status: int, body: Any, message: str
) -> None:
    artifact = make_artifact(provider="microsoft365")
    kwargs = {"json": body} if isinstance(body, dict) else {"body": body}
    responses.post(TOKEN_URL, status=status, **kwargs)
    params = start(admin_client, artifact)
    response = admin_client.get(CALLBACK, {"code": CODE, "state": params["state"]})
    assert response.status_code == 502
    assert message in response.content.decode()
    stored = reload(artifact)
    assert stored.status == Status.UNAUTHORIZED
    assert stored.access_token == "" and stored.refresh_token == ""


@responses.activate
def test_a_timeout_shows_a_clear_error(admin_client: Client, artifact: Any) -> None:
    responses.post(TOKEN_URL, body=requests.ReadTimeout())
    params = start(admin_client, artifact)
    response = admin_client.get(CALLBACK, {"code": CODE, "state": params["state"]})
    assert response.status_code == 502
    assert "did not answer in time" in response.content.decode()


@responses.activate
def test_no_refresh_token_puts_the_artifact_in_error_with_the_reason(
    admin_client: Client, artifact: Any
) -> None:
    responses.post(TOKEN_URL, json={"access_token": ACCESS_TOKEN, "token_type": "Bearer"})
    params = start(admin_client, artifact)
    response = admin_client.get(CALLBACK, {"code": CODE, "state": params["state"]}, follow=True)
    stored = reload(artifact)
    assert stored.status == Status.ERROR
    assert "returned no refresh token" in stored.status_reason
    assert stored.access_token == ""
    assert "returned no refresh token" in response.content.decode()


@responses.activate
def test_a_changed_artifact_during_sign_in_is_refused(admin_client: Client, artifact: Any) -> None:
    responses.post(TOKEN_URL, json=TOKENS)
    params = start(admin_client, artifact)
    OAuth2AuthorizationCode.objects.filter(pk=artifact.pk).update(scope="admin")
    response = admin_client.get(CALLBACK, {"code": CODE, "state": params["state"]})
    assert response.status_code == 409
    assert len(responses.calls) == 0


@responses.activate
def test_an_edit_during_the_code_exchange_stores_nothing(
    admin_client: Client, admin_user: User, artifact: Any
) -> None:
    from securitymaterial import services
    from securitymaterial.forms import OAuth2AuthorizationCodeForm
    from tests.securitymaterial.test_edit_view import edit_data

    def edit_meanwhile(request: Any) -> tuple[int, dict[str, str], str]:
        # Another admin saves a new scope while the provider answers this code exchange.
        current = reload(artifact)
        form = OAuth2AuthorizationCodeForm(edit_data(current, scope="admin"), instance=current)
        assert form.is_valid(), form.errors
        assert services.redeploy(form, admin_user)
        return 200, {}, json.dumps(TOKENS)

    responses.add_callback(responses.POST, TOKEN_URL, callback=edit_meanwhile)
    params = start(admin_client, artifact)
    response = admin_client.get(CALLBACK, {"code": CODE, "state": params["state"]})
    assert response.status_code == 409
    assert "was changed while you were signing in" in response.content.decode()
    stored = reload(artifact)
    assert stored.scope == "admin"
    assert stored.status == Status.UNAUTHORIZED
    assert stored.status_reason == "Settings changed during sign-in; choose Authorize again."
    assert (stored.access_token, stored.refresh_token) == ("", "")
    entry = AuditEntry.objects.get(action="authorization_failed")
    assert entry.detail == "Settings changed during sign-in; choose Authorize again."


@responses.activate
def test_a_differing_signed_in_account_is_pointed_out(admin_client: Client, artifact: Any) -> None:
    import base64

    claims = base64.urlsafe_b64encode(json.dumps({"email": "someone@else.com"}).encode())
    responses.post(TOKEN_URL, json={**TOKENS, "id_token": f"e30.{claims.decode()}.x"})
    params = start(admin_client, artifact)
    response = admin_client.get(CALLBACK, {"code": CODE, "state": params["state"]}, follow=True)
    html = response.content.decode()
    assert "consent was given by someone@else.com, not by the User Name mailer@example.com" in html
    assert "Consent was given by someone@else.com, but User Name is mailer@example.com" in html


def test_the_callback_needs_the_change_permission(reader_client: Client, db: None) -> None:
    assert reader_client.get(CALLBACK, {"code": CODE, "state": "x"}).status_code == 403


def test_a_signed_out_callback_says_so_without_carrying_the_code_on(db: None) -> None:
    response = Client().get(CALLBACK, {"code": CODE, "state": "x"})
    assert response.status_code == 401
    html = response.content.decode()
    assert "You were signed out while signing in at the provider" in html
    assert CODE not in html
    assert 'href="/accounts/login/"' in html


def _operator_client() -> Client:
    from django.contrib.auth.models import Permission

    user = User.objects.create_user("olga", "olga@example.com", PASSWORD)
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_artifact", "operate_artifact"])
    )
    client = Client()
    client.force_login(user)
    return client


def _id_token(account: str) -> str:
    import base64

    claims = base64.urlsafe_b64encode(json.dumps({"email": account}).encode()).decode()
    return f"e30.{claims}.x"


@responses.activate
def test_an_operators_authorization_by_another_account_stores_nothing(
    artifact: OAuth2AuthorizationCode,
) -> None:
    operator = _operator_client()
    responses.post(TOKEN_URL, json={**TOKENS, "id_token": _id_token("someone@else.com")})
    params = start(operator, artifact)
    response = operator.get(CALLBACK, {"code": CODE, "state": params["state"]}, follow=True)
    html = response.content.decode()
    assert "someone@else.com signed in, but the User Name is mailer@example.com" in html
    stored = reload(artifact)
    assert stored.status == Status.UNAUTHORIZED
    assert (stored.access_token, stored.refresh_token, stored.authorized_account) == ("", "", "")
    entry = AuditEntry.objects.get(action="authorization_failed")
    assert entry.actor_name == "olga" and "someone@else.com signed in" in entry.detail
    assert ACCESS_TOKEN not in html and REFRESH_TOKEN not in html


@responses.activate
def test_an_operators_authorization_by_the_user_name_is_stored(
    artifact: OAuth2AuthorizationCode,
) -> None:
    operator = _operator_client()
    responses.post(TOKEN_URL, json={**TOKENS, "id_token": _id_token("Mailer@Example.com")})
    params = start(operator, artifact)
    operator.get(CALLBACK, {"code": CODE, "state": params["state"]})
    stored = reload(artifact)
    assert stored.status == Status.DEPLOYED and stored.refresh_token == REFRESH_TOKEN


@pytest.mark.parametrize(
    ("error", "description"),
    [
        ("access\x00denied", "x"),
        ("server_error", "bad\x00thing"),
        ("temporarily_unavailable\u202e", ""),
    ],
)
def test_an_error_with_control_characters_is_shown_plainly_not_a_500(
    admin_client: Client, artifact: OAuth2AuthorizationCode, error: str, description: str
) -> None:
    params = start(admin_client, artifact)
    response = admin_client.get(
        CALLBACK, {"state": params["state"], "error": error, "error_description": description}
    )
    assert response.status_code < 500
    html = response.content.decode()
    assert "\x00" not in html and "\u202e" not in html


@responses.activate
def test_a_provider_that_answers_429_says_when_to_try_again(
    admin_client: Client, artifact: OAuth2AuthorizationCode
) -> None:
    responses.post(
        TOKEN_URL,
        status=429,
        headers={"Retry-After": "120"},
        json={"error": "temporarily_unavailable"},
    )
    params = start(admin_client, artifact)
    response = admin_client.get(CALLBACK, {"code": CODE, "state": params["state"]})
    assert response.status_code == 502
    assert "The provider asks to wait 2 minutes, then choose Authorize again." in (
        response.content.decode()
    )
