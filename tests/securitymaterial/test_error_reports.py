"""Error reports never show a secret: not the DEBUG page, not the error mail to ADMINS."""

from __future__ import annotations

import secrets
import sys
from typing import Any

import pytest
import responses
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.debug import technical_500_response

from oauthflows.models import AuthorizationState
from tests.conftest import CLIENT_SECRET, valid_form_data
from tests.oauthflows.conftest import start

# Made at run time: the debug page shows source lines, and a marker written there would be
# found in them.
CODE = f"code-{secrets.token_hex(8)}"
TOKEN_URL = "https://auth.example.com/token"


def _failing_callback(admin_user: Any, make_artifact: Any) -> tuple[Any, list[str]]:
    """A callback whose token request fails in a way nobody planned for."""
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    artifact = make_artifact(send_as="basic")
    params = start(client, artifact)
    verifier = AuthorizationState.objects.get().code_verifier
    responses.post(TOKEN_URL, body=RuntimeError("forced failure"))
    response = client.get(reverse("oauthflows:callback"), {"code": CODE, "state": params["state"]})
    return response, [CLIENT_SECRET, CODE, verifier, params["state"]]


@responses.activate
def test_the_debug_page_of_a_failed_callback_shows_no_secret(
    settings: Any, admin_user: Any, make_artifact: Any
) -> None:
    settings.DEBUG = True
    response, secrets = _failing_callback(admin_user, make_artifact)
    assert response.status_code == 500
    page = response.content.decode()
    assert "RuntimeError" in page and "forced failure" in page  # it is the debug page
    assert "_token_request" in page  # with the frames that held the secrets
    for secret in secrets:
        assert secret not in page


@responses.activate
def test_the_error_mail_of_a_failed_callback_shows_no_secret(
    settings: Any, admin_user: Any, make_artifact: Any
) -> None:
    settings.DEBUG = False
    settings.ADMINS = [("Ops", "ops@example.com")]
    response, secrets = _failing_callback(admin_user, make_artifact)
    assert response.status_code == 500
    [message] = mail.outbox
    bodies = [message.body] + [str(content) for content, _ in message.alternatives]
    assert "forced failure" in message.body
    for body in bodies:
        for secret in secrets:
            assert secret not in body


def test_the_debug_page_hides_posted_secrets_and_secret_looking_locals(settings: Any) -> None:
    settings.DEBUG = True
    state = secrets.token_hex(8)
    request = RequestFactory().post(
        reverse("securitymaterial:add", args=["oauth2-authorization-code"]) + f"?state={state}",
        valid_form_data(),
    )
    refresh_token = secrets.token_hex(8)
    payload = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    try:
        raise ValueError(f"failed for {len(payload)} fields")
    except ValueError:
        response = technical_500_response(request, *sys.exc_info())
    page = response.content.decode()
    assert "failed for 2 fields" in page
    for secret in (CLIENT_SECRET, refresh_token, state):
        assert secret not in page


@pytest.mark.parametrize("name", ["SECURITY_MATERIAL_KEYS", "SECRET_KEY", "CELERY_BROKER_URL"])
def test_the_debug_page_hides_key_settings(settings: Any, name: str) -> None:
    settings.DEBUG = True
    setattr(settings, name, secrets.token_hex(8))
    try:
        raise ValueError("boom")
    except ValueError:
        response = technical_500_response(RequestFactory().get("/"), *sys.exc_info())
    assert getattr(settings, name) not in response.content.decode()


@pytest.mark.parametrize("kind", ["secure-parameter", "oauth2-client-credentials"])
def test_the_debug_page_of_a_failed_deploy_shows_no_posted_value(
    settings: Any, admin_user: Any, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """Secure Parameter values (`value`, `repeat_value`) and custom-parameter values
    (`param-0-value`) have names that say nothing: the always-on filter hides every posted
    value, whatever its name."""
    from securitymaterial import services
    from tests.securitymaterial.test_other_types_pages import FORMS, management

    settings.DEBUG = True
    value = f"posted-{secrets.token_hex(8)}"
    data = {**FORMS[kind], "value": value, "repeat_value": value}
    if kind == "oauth2-client-credentials":
        data.update(management([{"key": "X-Api-Key", "value": value, "send_as": "header"}]))

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("deploy failed unexpectedly")

    monkeypatch.setattr(services, "deploy_new", fail)
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    response = client.post(reverse("securitymaterial:add", args=[kind]), data)
    assert response.status_code == 500
    page = response.content.decode()
    assert "deploy failed unexpectedly" in page  # the debug page
    assert value not in page


def test_a_clients_error_mails_nobody_and_a_fault_still_does(
    settings: Any, admin_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """config.logs.ServerFaultsOnly: a body too large (django.security, logged at ERROR) or a
    designed 503 is no emergency; a 500 is."""
    from securitymaterial import crypto, services

    settings.DEBUG = False
    settings.ADMINS = [("Ops", "ops@example.com")]
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    too_large = client.post(
        reverse("securitymaterial:add", args=["secure-parameter"]),
        {"name": "Big", "value": "x" * 3_000_000, "repeat_value": "x"},
    )
    assert too_large.status_code == 400

    def unreadable(*args: Any, **kwargs: Any) -> None:
        raise crypto.DecryptionError("no key reads it")

    monkeypatch.setattr(services, "deploy_new", unreadable)
    designed = client.post(
        reverse("securitymaterial:add", args=["secure-parameter"]),
        {"name": "P_1", "value": "v", "repeat_value": "v"},
    )
    assert designed.status_code == 503
    assert mail.outbox == []

    def fault(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a real fault")

    monkeypatch.setattr(services, "deploy_new", fault)
    failed = client.post(
        reverse("securitymaterial:add", args=["secure-parameter"]),
        {"name": "P_2", "value": "v", "repeat_value": "v"},
    )
    assert failed.status_code == 500
    assert len(mail.outbox) == 1 and "a real fault" in mail.outbox[0].body


@pytest.mark.parametrize("debug", [True, False])
def test_a_failure_while_a_consent_link_is_opened_or_mailed_shows_no_link(
    settings: Any, admin_user: Any, make_artifact: Any, monkeypatch: pytest.MonkeyPatch, debug: bool
) -> None:
    from oauthflows import consent

    settings.DEBUG = debug
    settings.ADMINS = [("Ops", "ops@example.com")]
    artifact = make_artifact(user_name="mailer@example.com")
    _, token = consent.create(artifact, admin_user)

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("forced failure")

    monkeypatch.setattr(consent.ConsentLink.objects, "select_related", explode)
    monkeypatch.setattr(consent, "send_mail", explode)
    owner = Client(raise_request_exception=False)
    opened = owner.get("/consent/", {"link": token})
    admin = Client(raise_request_exception=False)
    admin.force_login(admin_user)
    mailed = admin.post(
        f"/monitor/integrations/security-material/{artifact.pk}/consent-link/mail/", {"link": token}
    )
    assert opened.status_code == mailed.status_code == 500
    reports = [opened.content.decode(), mailed.content.decode()]
    reports += [message.body for message in mail.outbox]
    if debug:
        assert "forced failure" in reports[0] and "forced failure" in reports[1]
    else:
        assert len(mail.outbox) == 2  # the error mails
    for report in reports:
        assert token not in report
