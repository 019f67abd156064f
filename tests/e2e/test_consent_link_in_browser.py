"""Consent by link, end to end: an Operator creates the link; the mailbox owner, in another
browser with no session here, opens it, signs in at the real OAuth server and consents; the
artifact is deployed and issues tokens. Used, expired, revoked, edited-artifact, unknown
and wrong-account links are refused and change nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from django.contrib.auth.models import Group, Permission, User
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from api.models import ApiToken
from oauthflows.models import ConsentLink
from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode, Status
from tests.conftest import PASSWORD, database_snapshot
from tests.e2e.conftest import watch_csp
from tests.e2e.test_accessibility import violations
from tests.support.oauth_server import PASSWORD as PROVIDER_PASSWORD
from tests.support.oauth_server import USER as PROVIDER_USER
from tests.support.oauth_server import OAuthServer

SECRET = "consent-client-secret-4b1e"
OWNER = f"{PROVIDER_USER}@example.com"
TENANT = "contoso.onmicrosoft.com"
SMTP = "https://outlook.office.com/SMTP.Send"
IMAP = "https://outlook.office.com/IMAP.AccessAsUser.All"


@pytest.fixture
def service(settings: Any, live_server: Any) -> Any:
    settings.PUBLIC_BASE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return live_server


@pytest.fixture
def artifact(service: Any, oauth_server: OAuthServer, transactional_db: None) -> Any:
    oauth_server.register_client(
        "consent-app", SECRET, f"{service.url}/oauth2/callback/", auth_method="body"
    )
    return OAuth2AuthorizationCode.objects.create(
        name="Shared_Mailbox",
        description="Sends the invoices of the accounting integration.",
        provider="microsoft365",
        tenant=TENANT,
        # The test server's Microsoft identity platform v2.0 stand-in.
        authorization_url=f"{oauth_server.url}/{TENANT}/oauth2/v2.0/authorize",
        token_service_url=f"{oauth_server.url}/{TENANT}/oauth2/v2.0/token",
        client_id="consent-app",
        client_secret=SECRET,
        user_name=OWNER,
        scope=f"openid profile {SMTP} {IMAP} offline_access",
    )


@pytest.fixture
def operator(page: Page, service: Any, transactional_db: None) -> Page:
    user = User.objects.create_user("olga", "olga@example.com", PASSWORD)
    # The role migration 0006 makes (a transactional test's flush removes it after the first).
    role, _ = Group.objects.get_or_create(name="Operator")
    role.permissions.set(
        Permission.objects.filter(
            content_type__app_label="securitymaterial",
            codename__in=["view_artifact", "operate_artifact"],
        )
    )
    user.groups.add(role)
    page.goto(f"{service.url}/accounts/login/")
    page.get_by_label("User name").fill("olga")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return watch_csp(page, CSP)


CSP: list[str] = []


@pytest.fixture
def owner(browser: Browser) -> Any:
    """A second browser with no session here: the mailbox owner's."""
    CSP.clear()
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(10_000)
    yield watch_csp(context.new_page(), CSP)
    context.close()
    assert CSP == []  # no page of the link's life broke the Content-Security-Policy


def create_link(page: Page, service: Any, artifact: Any) -> str:
    page.goto(f"{service.url}/monitor/integrations/security-material/{artifact.pk}/")
    page.get_by_role("button", name="Create Consent Link").click()
    field = page.get_by_label("Consent Link")
    expect(field).to_have_attribute("readonly", "")
    url = field.input_value()
    assert url.startswith(f"{service.url}/consent/?link=")
    return url


def sign_in_at_the_provider(page: Page) -> None:
    expect(page.get_by_role("heading", name="Sign in to the provider")).to_be_visible()
    page.get_by_label("Email or user name").fill(PROVIDER_USER)
    page.get_by_label("Provider password").fill(PROVIDER_PASSWORD)
    page.get_by_role("button", name="Sign in to the provider").click()
    page.get_by_role("button", name="Authorize").click()


def test_the_owner_consents_by_link_and_the_artifact_issues_tokens(
    operator: Page, owner: Page, service: Any, artifact: Any, screenshot_dir: Path
) -> None:
    url = create_link(operator, service, artifact)
    assert violations(operator, "consent link shown once") == []
    operator.get_by_role("button", name="Send by Mail").click()
    expect(operator.get_by_text(f"The consent link was sent to {OWNER}.")).to_be_visible()
    (sent,) = mail.outbox
    assert sent.to == [OWNER] and url in sent.body
    expect(operator.get_by_role("button", name="Revoke Consent Link")).to_be_visible()
    assert url not in operator.content()  # shown once

    referers: list[str] = []
    owner.on("request", lambda r: referers.append(r.headers.get("referer", "")))
    owner.goto(url)
    assert owner.url == f"{service.url}/consent/"  # the token left the address bar
    expect(owner.get_by_role("heading", name="Consent for Shared_Mailbox")).to_be_visible()
    for text in (
        "Sends the invoices of the accounting integration.",
        "olga",
        OWNER,
        "Microsoft 365",
        "confirm who you are",
        "see your name and basic profile",
        "send mail as you",
        "read and manage your mailbox",
        "keep access until you withdraw it",
    ):
        expect(owner.get_by_text(text, exact=False).first).to_be_visible()
    assert violations(owner, "the owner's consent page") == []
    owner.screenshot(path=str(screenshot_dir / "consent.png"), full_page=True)
    owner.get_by_role("button", name="Sign in and consent").click()
    sign_in_at_the_provider(owner)
    expect(owner.get_by_role("heading", name="Consent recorded")).to_be_visible()
    expect(owner.get_by_text("You may close this page.")).to_be_visible()
    assert violations(owner, "consent recorded") == []
    token = url.split("link=", 1)[1]
    assert not [r for r in referers if token in r or "code=" in r.split("?", 1)[-1][:5]]

    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert stored.status == Status.DEPLOYED and stored.authorized_account == OWNER
    assert stored.authorized_by is None
    _, secret = ApiToken.create("invoices")
    answer = requests.get(
        f"{service.url}/api/v1/security-material/Shared_Mailbox/access-token",
        headers={"Authorization": f"Bearer {secret}"},
        timeout=30,
    )
    assert answer.status_code == 200 and answer.json()["access_token"]
    trail = list(
        AuditEntry.objects.filter(artifact=artifact)
        .exclude(action=AuditEntry.Action.TOKEN_ISSUED)  # the API call above
        .order_by("at", "id")
        .values_list("action", "actor_name")
    )
    assert trail == [
        ("consent_link_created", "olga"),
        ("consent_link_mailed", "olga"),
        ("consent_link_opened", "mailbox owner"),
        ("authorized", OWNER),
        ("consent_link_used", OWNER),
    ]
    assert any("authorized through a consent link" in m.subject for m in mail.outbox)

    # Replayed: the used link answers 410 and changes nothing.
    before = database_snapshot()
    response = owner.goto(url)
    assert response is not None and response.status == 410
    expect(owner.get_by_role("heading", name="This link does not work")).to_be_visible()
    assert "Shared_Mailbox" not in owner.content()
    assert database_snapshot() == before
    assert violations(owner, "a used link's page") == []


def refused(owner: Page, url: str, status: int) -> None:
    before = database_snapshot()
    response = owner.goto(url)
    assert response is not None and response.status == status
    expect(owner.get_by_role("heading", name="This link does not work")).to_be_visible()
    assert "Shared_Mailbox" not in owner.content() and OWNER not in owner.content()
    assert database_snapshot() == before


@pytest.mark.parametrize(
    "end",
    ["expired", "revoked", "edited", "replaced"],
)
def test_an_ended_link_is_refused_and_changes_nothing(
    operator: Page, owner: Page, service: Any, artifact: Any, end: str
) -> None:
    url = create_link(operator, service, artifact)
    ends: dict[str, Callable[[], None]] = {
        "expired": lambda: ConsentLink.objects.update(expires_at=timezone.now() - timedelta(1)),
        "revoked": lambda: operator.get_by_role("button", name="Revoke Consent Link").click(),
        "edited": lambda: _edit_client_id(artifact),
        "replaced": lambda: create_link(operator, service, artifact),
    }
    if end == "revoked":
        operator.goto(f"{service.url}/monitor/integrations/security-material/{artifact.pk}/")
    ends[end]()
    refused(owner, url, 410)


def _edit_client_id(artifact: Any) -> None:
    artifact.refresh_from_db()
    artifact.client_id = "another-client"
    artifact.save()


def test_an_unknown_link_is_404_and_says_nothing(owner: Page, service: Any, artifact: Any) -> None:
    refused(owner, f"{service.url}/consent/?link=" + "A" * 43, 404)
    refused(owner, f"{service.url}/consent/", 404)  # no link opened in this browser


def test_consent_by_another_account_stores_nothing_and_the_link_stays(
    operator: Page, owner: Page, service: Any, artifact: Any
) -> None:
    OAuth2AuthorizationCode.objects.filter(pk=artifact.pk).update(user_name="bob@example.com")
    url = create_link(operator, service, artifact)
    owner.goto(url)
    before = database_snapshot()
    owner.get_by_role("button", name="Sign in and consent").click()
    sign_in_at_the_provider(owner)
    expect(owner.get_by_text(f"{OWNER} signed in, but this consent is for bob@example.com"))
    expect(owner.get_by_role("button", name="Sign in and consent")).to_be_visible()
    assert database_snapshot() == before
    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert stored.status == Status.UNAUTHORIZED and not stored.refresh_token
    assert ConsentLink.objects.get().ended_at is None  # still usable until it expires
    assert re.search(r"/consent/$", owner.url)
