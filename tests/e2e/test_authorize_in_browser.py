"""Authorize end to end: real Chromium, a real OAuth 2.0 server (django-oauth-toolkit) in
its own process, PKCE required by the server, each Send As mode the only one it accepts."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from securitymaterial.models import OAuth2AuthorizationCode, Status
from tests.conftest import raw_rows
from tests.e2e.test_deploy_in_browser import open_add_form, sign_in_as_admin
from tests.support.oauth_server import PASSWORD as PROVIDER_PASSWORD
from tests.support.oauth_server import USER as PROVIDER_USER
from tests.support.oauth_server import OAuthServer

# Characters that HTTP Basic must form-urlencode (RFC 6749 §2.3.1) before Base64.
CLIENT_SECRET = "s3cr+t/with:odd~chars=%"


@pytest.fixture
def service(settings: Any, live_server: Any) -> Any:
    # The Redirect URL comes from PUBLIC_BASE_URL; here that is the live server.
    settings.PUBLIC_BASE_URL = live_server.url
    return live_server


def deploy(
    page: Page,
    *,
    name: str,
    provider: str,
    urls: tuple[str, str],
    send_as: str,
    scope: str,
    client_id: str,
    tenant: str = "",
) -> None:
    open_add_form(page)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Provider").select_option(label=provider)
    if tenant:
        page.get_by_label("Tenant").fill(tenant)
    page.get_by_label("Authorization URL").fill(urls[0])
    page.get_by_label("Token Service URL").fill(urls[1])
    page.get_by_label("Client ID").fill(client_id)
    page.get_by_label("Client Secret").fill(CLIENT_SECRET)
    page.get_by_label("Send As").select_option(label=send_as)
    page.get_by_label("User Name").fill(f"{PROVIDER_USER}@example.com")
    page.get_by_label("Scope").fill(scope)
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_text(f"Deployed {name}.")).to_be_visible()


def authorize_at_the_provider(page: Page, name: str) -> None:
    row = page.get_by_role("row", name=re.compile(name))
    row.get_by_role("button", name="Authorize").click()
    # The provider's own pages: sign in, then consent.
    expect(page.get_by_role("heading", name="Sign in to the provider")).to_be_visible()
    page.get_by_label("Email or user name").fill(PROVIDER_USER)
    page.get_by_label("Provider password").fill(PROVIDER_PASSWORD)
    page.get_by_role("button", name="Sign in to the provider").click()
    page.get_by_role("button", name="Authorize").click()


def assert_tokens_never_shown(page: Page, artifact: OAuth2AuthorizationCode, logs: str) -> None:
    raw = str(raw_rows("securitymaterial_oauth2authorizationcode"))
    for token in (artifact.access_token, artifact.refresh_token, CLIENT_SECRET):
        assert token
        assert token not in raw
        assert token not in page.content()
        assert token not in logs


@pytest.mark.parametrize("send_as", ["Body Parameter", "Basic Auth Header"])
def test_generic_provider_authorizes_end_to_end(
    page: Page,
    service: Any,
    oauth_server: OAuthServer,
    send_as: str,
    caplog: pytest.LogCaptureFixture,
    screenshot_dir: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    method = "basic" if send_as == "Basic Auth Header" else "body"
    client_id = f"generic-{method}"
    oauth_server.register_client(
        client_id, CLIENT_SECRET, f"{service.url}/oauth2/callback/", auth_method=method
    )
    sign_in_as_admin(page, service)
    deploy(
        page,
        name=f"Generic_{method}",
        provider="Generic",
        urls=(f"{oauth_server.url}/o/authorize/", f"{oauth_server.url}/o/token/"),
        send_as=send_as,
        scope="openid profile read",
        client_id=client_id,
    )
    authorize_at_the_provider(page, f"Generic_{method}")

    expect(page.get_by_text(f"Generic_{method} is authorized and deployed.")).to_be_visible()
    assert "code=" not in page.url
    expect(page.locator(".status")).to_have_text("Deployed")
    expect(page.get_by_text("Refresh token last renewed")).to_be_visible()
    expect(page.locator(".token-facts")).to_contain_text(f"{PROVIDER_USER}@example.com")
    artifact = OAuth2AuthorizationCode.objects.get(name=f"Generic_{method}")
    assert artifact.status == Status.DEPLOYED
    assert artifact.refresh_token and artifact.access_token
    assert_tokens_never_shown(page, artifact, caplog.text)
    page.screenshot(path=str(screenshot_dir / "authorized.png"), full_page=True)

    # Keeping it alive: an operator forces a refresh 20 minutes later; the page shows it.
    later = timezone.now() + timedelta(minutes=20)
    with time_machine.travel(later, tick=False):
        out = StringIO()
        call_command("refresh_tokens", "--name", f"Generic_{method}", "--force", stdout=out)
        assert out.getvalue().strip() == f"Generic_{method}: refreshed"
        page.reload()
    refreshed = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert refreshed.refresh_token != artifact.refresh_token
    expires = refreshed.access_token_expires_at
    assert expires is not None and expires >= later + timedelta(minutes=59)
    facts = page.locator(".token-facts")
    expect(facts).to_contain_text(f"Access token expires{expires:%b %-d, %Y, %H:%M:%S} UTC")
    expect(facts).to_contain_text("Refreshed")
    assert_tokens_never_shown(page, refreshed, caplog.text)


def test_the_server_refuses_the_other_send_as_method(
    page: Page, service: Any, oauth_server: OAuthServer
) -> None:
    oauth_server.register_client(
        "body-only", CLIENT_SECRET, f"{service.url}/oauth2/callback/", auth_method="body"
    )
    sign_in_as_admin(page, service)
    deploy(
        page,
        name="Wrong_Method",
        provider="Generic",
        urls=(f"{oauth_server.url}/o/authorize/", f"{oauth_server.url}/o/token/"),
        send_as="Basic Auth Header",
        scope="read",
        client_id="body-only",
    )
    authorize_at_the_provider(page, "Wrong_Method")
    expect(page.get_by_role("heading", name="The provider did not issue tokens")).to_be_visible()
    expect(page.get_by_text("did not accept the Client ID and Client Secret")).to_be_visible()
    assert OAuth2AuthorizationCode.objects.get(name="Wrong_Method").status == Status.UNAUTHORIZED


def test_microsoft_365_authorizes_against_a_v2_stand_in(
    page: Page, service: Any, oauth_server: OAuthServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    oauth_server.register_client(
        "m365-app", CLIENT_SECRET, f"{service.url}/oauth2/callback/", auth_method="body"
    )
    sign_in_as_admin(page, service)
    tenant = "contoso.onmicrosoft.com"
    deploy(
        page,
        name="M365_Mailer",
        provider="Microsoft 365",
        tenant=tenant,
        urls=(
            f"{oauth_server.url}/{tenant}/oauth2/v2.0/authorize",
            f"{oauth_server.url}/{tenant}/oauth2/v2.0/token",
        ),
        send_as="Body Parameter",
        scope="openid profile https://outlook.office.com/SMTP.Send",
        client_id="m365-app",
    )
    authorize_at_the_provider(page, "M365_Mailer")

    expect(page.get_by_text("M365_Mailer is authorized and deployed.")).to_be_visible()
    artifact = OAuth2AuthorizationCode.objects.get(name="M365_Mailer")
    assert artifact.status == Status.DEPLOYED
    assert artifact.scope == "openid profile https://outlook.office.com/SMTP.Send offline_access"
    # Microsoft echoes the granted scope without offline_access, and still sends a refresh token.
    assert artifact.token_scope == "openid profile https://outlook.office.com/SMTP.Send"
    assert artifact.refresh_token
    assert_tokens_never_shown(page, artifact, caplog.text)


def test_no_refresh_token_ends_in_error_with_the_reason(
    page: Page, service: Any, oauth_server: OAuthServer
) -> None:
    # Through the Generic provider nothing adds offline_access, so the v2.0 stand-in,
    # like Microsoft, issues no refresh token.
    oauth_server.register_client(
        "no-offline", CLIENT_SECRET, f"{service.url}/oauth2/callback/", auth_method="body"
    )
    sign_in_as_admin(page, service)
    deploy(
        page,
        name="No_Offline",
        provider="Generic",
        urls=(
            f"{oauth_server.url}/common/oauth2/v2.0/authorize",
            f"{oauth_server.url}/common/oauth2/v2.0/token",
        ),
        send_as="Body Parameter",
        scope="https://outlook.office.com/SMTP.Send",
        client_id="no-offline",
    )
    authorize_at_the_provider(page, "No_Offline")
    expect(page.locator(".alert-danger")).to_contain_text("returned no refresh token")
    expect(page.locator(".status")).to_have_text("Error")
    artifact = OAuth2AuthorizationCode.objects.get(name="No_Offline")
    assert artifact.status == Status.ERROR
    assert artifact.access_token == ""
