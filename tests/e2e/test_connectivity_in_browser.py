"""Connectivity Tests in real Chromium against real SMTP and IMAP servers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from securitymaterial.models import OAuth2AuthorizationCode
from tests.conftest import PASSWORD
from tests.support.mailservers import MAILBOX, ImapServer, SubmissionServer, mailer
from tests.support.oauth_server import OAuthServer


def run_check(page: Page, tab: str, port: int) -> None:
    page.get_by_role("link", name=tab, exact=True).click()
    page.get_by_label("Host").fill("127.0.0.1")
    page.get_by_label("Port").fill(str(port))
    page.get_by_label("Protection").select_option(label="None")
    expect(page.get_by_label("Authentication")).to_have_value("oauth2-authorization-code")
    page.get_by_label("Credential Name").select_option(label=f"M365_Mailer ({MAILBOX})")
    page.get_by_role("button", name="Send").click()


def test_smtp_and_imap_succeed_and_a_revoked_token_fails_clearly(
    page: Page,
    live_server: Any,
    mail_oauth: OAuthServer,
    make_artifact: Any,
    smtp_server: SubmissionServer,
    imap_server: ImapServer,
    screenshot_dir: Path,
) -> None:
    artifact = mailer(mail_oauth, make_artifact)  # made by ada, who may change artifacts
    page.goto(live_server.url)
    page.get_by_label("User name").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # From the artifact's detail page, with the artifact preselected.
    page.goto(f"{live_server.url}/monitor/integrations/security-material/{artifact.pk}/")
    page.get_by_role("link", name="Connectivity Test").click()
    expect(page.get_by_role("heading", name="Connectivity Tests")).to_be_visible()
    expect(page.get_by_label("Credential Name")).to_have_value("M365_Mailer")
    expect(page.get_by_label("Host")).to_have_value("smtp.office365.com")

    run_check(page, "SMTP", smtp_server.port)
    expect(page.locator(".outcome")).to_have_text(
        re.compile(rf"^Success: signed in as {re.escape(MAILBOX)}")
    )
    token = OAuth2AuthorizationCode.objects.get(pk=artifact.pk).access_token
    assert token not in page.content()
    page.screenshot(path=str(screenshot_dir / "connectivity.png"), full_page=True)

    run_check(page, "IMAP", imap_server.port)
    expect(page.locator(".outcome")).to_have_text(re.compile(r"^Success: .*INBOX holds"))

    mail_oauth.revoke_access_token(token)
    run_check(page, "SMTP", smtp_server.port)
    expect(page.locator(".outcome")).to_have_text(
        re.compile(r"^Failed: The server refused the access token")
    )
    expect(page.locator(".transcript")).to_contain_text("[XOAUTH2 response, redacted]")
    assert token not in page.content()
