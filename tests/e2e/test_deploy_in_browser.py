"""An admin deploys an OAuth2 Authorization Code artifact by clicking through the pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Permission, User
from playwright.sync_api import Page, expect

from securitymaterial.models import OAuth2AuthorizationCode
from tests.conftest import CLIENT_SECRET, PASSWORD


def sign_in_as_admin(page: Page, live_server: Any) -> None:
    user = User.objects.create_user("ada", "ada@example.com", PASSWORD)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="securitymaterial"))
    page.goto(live_server.url)
    page.get_by_label("User name").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def open_add_form(page: Page) -> None:
    page.get_by_role("button", name="Monitor").click()
    page.get_by_role("link", name="Integrations and APIs").click()
    expect(page.get_by_role("heading", name="Integrations and APIs")).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^Security Material")).click()
    page.get_by_role("button", name="Add").click()
    page.get_by_role("link", name="OAuth2 Authorization Code").click()
    expect(page.get_by_role("heading", name="Add OAuth2 Authorization Code")).to_be_visible()


def test_an_admin_deploys_an_artifact_and_sees_it_unauthorized(
    page: Page, live_server: Any, transactional_db: None, screenshot_dir: Path
) -> None:
    sign_in_as_admin(page, live_server)
    open_add_form(page)

    page.get_by_label("Name", exact=True).fill("M365_Mailer")
    page.get_by_label("Description").fill("Sends the invoices")
    page.get_by_label("Provider").select_option(label="Microsoft 365")
    page.get_by_label("Tenant").fill("contoso.onmicrosoft.com")
    # The tenant fills both URLs in the browser.
    expect(page.get_by_label("Token Service URL")).to_have_value(
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    )
    expect(page.get_by_label("Refresh Token Expiry")).to_have_value("90")
    expect(page.get_by_label("Redirect URL")).to_have_value(
        settings.PUBLIC_BASE_URL + "/oauth2/callback/"
    )
    page.get_by_label("Client ID").fill("11111111-2222-3333-4444-555555555555")
    page.get_by_label("Client Secret").fill(CLIENT_SECRET)
    page.get_by_label("Send As").select_option(label="Body Parameter")
    page.get_by_label("User Name").fill("mailer@contoso.com")
    page.get_by_role("button", name="https://outlook.office.com/SMTP.Send").click()
    page.get_by_role("button", name="https://outlook.office.com/IMAP.AccessAsUser.All").click()
    expect(page.get_by_label("Scope")).to_have_value(
        "https://outlook.office.com/SMTP.Send https://outlook.office.com/IMAP.AccessAsUser.All"
    )
    page.screenshot(path=str(screenshot_dir / "form.png"), full_page=True)
    page.get_by_role("button", name="Deploy").click()

    expect(page.get_by_text("offline_access was added to Scope")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("M365_Mailer"))
    expect(row.get_by_role("cell").nth(1)).to_have_text("OAuth2 Authorization Code")
    expect(row.get_by_text("Unauthorized", exact=True)).to_be_visible()
    expect(row.get_by_text("Choose Authorize to sign in and consent")).to_be_visible()
    expect(row.get_by_role("cell").nth(3)).to_have_text("ada")
    assert CLIENT_SECRET not in page.content()
    page.screenshot(path=str(screenshot_dir / "list.png"))
    assert (screenshot_dir / "list.png").stat().st_size > 0

    artifact = OAuth2AuthorizationCode.objects.get()
    assert artifact.scope.endswith("IMAP.AccessAsUser.All offline_access")


def test_a_bad_url_gets_a_field_error_and_nothing_is_deployed(
    page: Page, live_server: Any, transactional_db: None
) -> None:
    sign_in_as_admin(page, live_server)
    open_add_form(page)
    page.get_by_label("Name", exact=True).fill("Generic_App")
    page.get_by_label("Provider").select_option(label="Generic")
    expect(page.get_by_label("Tenant")).to_be_hidden()
    page.get_by_label("Authorization URL").fill("https://auth.example.com/authorize")
    page.get_by_label("Token Service URL").fill("http://auth.example.com/token")
    page.get_by_label("Client ID").fill("client-1")
    page.get_by_label("Client Secret").fill(CLIENT_SECRET)
    page.get_by_role("button", name="Deploy").click()

    error = page.locator("#div_id_token_service_url .invalid-feedback")
    expect(error).to_contain_text("Plain http:// is only allowed for localhost")
    expect(page.get_by_text("Nothing was deployed.")).to_be_visible()
    expect(page.get_by_label("Client Secret")).to_have_value("")
    assert not OAuth2AuthorizationCode.objects.exists()


def test_editing_the_tenant_moves_the_default_urls_and_a_new_host_needs_the_secret(
    page: Page, live_server: Any, transactional_db: None
) -> None:
    sign_in_as_admin(page, live_server)
    login = "https://login.microsoftonline.com"
    artifact = OAuth2AuthorizationCode.objects.create(
        name="M365_Mailer",
        provider="microsoft365",
        tenant="contoso.onmicrosoft.com",
        authorization_url=f"{login}/contoso.onmicrosoft.com/oauth2/v2.0/authorize",
        token_service_url=f"{login}/contoso.onmicrosoft.com/oauth2/v2.0/token",
        refresh_token_expiry_days=90,
        client_id="client-1",
        client_secret=CLIENT_SECRET,
        scope="https://outlook.office.com/SMTP.Send offline_access",
    )
    page.goto(f"{live_server.url}/monitor/integrations/security-material/{artifact.pk}/edit/")
    page.get_by_label("Tenant").fill("fabrikam.onmicrosoft.com")
    # The browser moves both default URLs along with the tenant.
    expect(page.get_by_label("Token Service URL")).to_have_value(
        f"{login}/fabrikam.onmicrosoft.com/oauth2/v2.0/token"
    )
    page.get_by_role("button", name="Deploy").click()
    expect(
        page.get_by_text(
            "Authorization URL and Token Service URL now use the tenant fabrikam.onmicrosoft.com"
        )
    ).to_be_visible()

    # Another host for the token endpoint: the stored secret is not sent there unasked.
    page.goto(f"{live_server.url}/monitor/integrations/security-material/{artifact.pk}/edit/")
    page.get_by_label("Token Service URL").fill("https://collector.example.net/token")
    page.get_by_role("button", name="Deploy").click()
    expect(page.locator("#div_id_client_secret .invalid-feedback")).to_contain_text(
        "Token Service URL now points to another host. Enter the Client Secret again"
    )
    artifact.refresh_from_db()
    assert artifact.token_service_url == f"{login}/fabrikam.onmicrosoft.com/oauth2/v2.0/token"
