"""The token-health timeline on an artifact's detail page, in real Chromium: drawn on the
server (no script), named for a screen reader by its summary, the same facts as a table,
WCAG 2.1 AA by axe-core, and nothing the Content-Security-Policy refuses."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from securitymaterial.models import OAuth2AuthorizationCode, Status
from tests.e2e.conftest import watch_csp
from tests.e2e.test_accessibility import violations
from tests.e2e.test_deploy_in_browser import sign_in_as_admin
from tests.support.history import OUTAGE, lived


def test_the_timeline_shows_ninety_days_to_eyes_and_screen_readers(
    page: Page, live_server: Any, transactional_db: None, screenshot_dir: Path
) -> None:
    csp: list[str] = []
    watch_csp(page, csp)
    now = timezone.now()
    artifact = OAuth2AuthorizationCode.objects.create(
        name="M365_Mailer",
        provider="microsoft365",
        tenant="common",
        authorization_url="https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        token_service_url="https://login.microsoftonline.com/common/oauth2/v2.0/token",
        client_id="client-1",
        client_secret="s3cret",
        scope="https://outlook.office.com/SMTP.Send offline_access",
        user_name="mailer@example.com",
        status=Status.DEPLOYED,
        access_token="AT",
        refresh_token="RT",
        access_token_expires_at=now + timedelta(minutes=50),
        refresh_token_renewed_at=now - timedelta(minutes=10),
        refresh_token_expiry_days=90,
    )
    sign_in_as_admin(page, live_server)
    lived(artifact, now, User.objects.get(username="ada"))
    page.goto(f"{live_server.url}/monitor/integrations/security-material/{artifact.pk}/")

    chart = page.get_by_role("img", name="Token health, last 90 days")
    expect(chart).to_be_visible()
    name = chart.get_attribute("aria-labelledby")
    assert name == "timeline-title timeline-summary"
    summary = page.locator("#timeline-summary")
    expect(summary).to_contain_text("In the last 90 days: 1,")
    expect(summary).to_contain_text("refresh token expires if unused on")
    assert chart.locator("rect.tl-done").count() == 86  # a bar for each day it refreshed
    assert chart.locator("rect.tl-fail").count() == 2  # the outage and the revocation
    assert chart.locator("polygon.tl-mark").count() == 4
    box = chart.bounding_box()
    assert box is not None and box["width"] > 400 and box["height"] > 80

    card = page.locator(".card").filter(has=page.locator("#timeline-title"))
    card.screenshot(path=str(screenshot_dir / "timeline.png"))

    page.get_by_text("Day by day").click()
    table = page.get_by_role(
        "table", name="Token health of M365_Mailer, newest first (days in UTC)"
    )
    expect(table).to_be_visible()
    expect(table.get_by_role("row").filter(has_text=OUTAGE)).to_have_count(1)
    expect(table.get_by_role("row").filter(has_text="Authorized by ada")).to_have_count(2)
    # The header, five days with something to tell, and the four quiet stretches between
    # them one row each.
    expect(table.get_by_role("row")).to_have_count(1 + 5 + 4)
    expect(table.get_by_role("row").nth(1)).to_contain_text("refreshes done, none failed")
    assert violations(page, "detail page with the timeline") == []
    assert csp == []
