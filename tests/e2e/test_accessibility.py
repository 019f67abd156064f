"""Every page of the app passes axe-core's WCAG 2.1 A and AA rules in real Chromium, and
nothing on it breaks the Content-Security-Policy (no inline script or style)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page

from securitymaterial.models import (
    OAuth2AuthorizationCode,
    OAuth2ClientCredentials,
    SecureParameter,
    Status,
    UserCredentials,
)
from tests.conftest import PASSWORD
from tests.e2e.conftest import watch_csp

RULES = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
AXE = Axe()


def violations(page: Page, what: str) -> list[str]:
    results = AXE.run(page, options=RULES)
    return [
        f"{what}: {v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(
            f"{node['target'][0]} {node.get('failureSummary', '').splitlines()[-1].strip()}"
            for node in v["nodes"][:3]
        )
        for v in results.response["violations"]
    ]


@pytest.fixture
def csp_violations(page: Page) -> list[str]:
    seen: list[str] = []
    watch_csp(page, seen)
    return seen


@pytest.fixture
def signed_in(page: Page, live_server: Any, transactional_db: None, csp_violations: Any) -> Page:
    User.objects.create_superuser("ada", "ada@example.com", PASSWORD)
    page.goto(f"{live_server.url}/accounts/login/")
    assert violations(page, "sign-in page") == []
    for _ in range(5):  # another user name: the sign-in-paused page
        page.get_by_label("User name").fill("mallory")
        page.get_by_label("Password").fill("guess")
        page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("heading", name="Sign-in paused").is_visible()
    assert violations(page, "sign-in paused page") == []
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("User name").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return page


def artifacts() -> dict[str, Any]:
    now = timezone.now()
    common = {
        "provider": "generic",
        "authorization_url": "https://auth.example.com/authorize",
        "token_service_url": "https://auth.example.com/token",
        "client_id": "client-1",
        "client_secret": "s3cret",
        "scope": "read",
        "user_name": "mailer@example.com",
    }
    deployed = OAuth2AuthorizationCode.objects.create(
        name="Deployed_App",
        status=Status.DEPLOYED,
        access_token="AT",
        refresh_token="RT",
        access_token_expires_at=now + timedelta(hours=1),
        refresh_token_renewed_at=now,
        refresh_token_expiry_days=90,
        authorized_at=now,
        last_attempt_at=now,
        last_attempt_result="Refreshed",
        **common,
    )
    broken = OAuth2AuthorizationCode.objects.create(
        name="Broken_App",
        status=Status.ERROR,
        error_kind="reauthorize",
        status_reason="The grant was revoked. Choose Authorize to sign in again.",
        **common,
    )
    new = OAuth2AuthorizationCode.objects.create(name="New_App", **common)
    user = UserCredentials.objects.create(name="Erp_User", user="erp", password="pw")
    parameter = SecureParameter.objects.create(name="Erp_Key", value="v")
    client = OAuth2ClientCredentials.objects.create(
        name="Erp_Client",
        token_service_url="https://auth.example.com/token",
        client_id="c",
        client_secret="s",
        status=Status.ERROR,
        error_kind="transient",
        status_reason="The Token Service URL could not be reached.",
        custom_parameters_json='[{"key": "X-Api", "value": "1", "send_as": "header"}]',
    )
    for number in range(25):  # more than a page: the list pages
        SecureParameter.objects.create(name=f"Z_Param_{number:02}", value="")
    return {
        "deployed": deployed,
        "broken": broken,
        "new": new,
        "user": user,
        "parameter": parameter,
        "client": client,
    }


def test_every_page_passes_wcag_2_1_a_and_aa_and_keeps_to_the_csp(
    signed_in: Page, live_server: Any, csp_violations: list[str]
) -> None:
    page, base = signed_in, live_server.url
    made = artifacts()
    deployed = f"{base}/monitor/integrations/security-material/{made['deployed'].pk}"
    pages = {
        "Integrations and APIs": f"{base}/monitor/integrations/",
        "Security Material list": f"{base}/monitor/integrations/security-material/",
        "Security Material list, a later page": (
            f"{base}/monitor/integrations/security-material/?sort=-status&after=stored"
            "&after_name=new_app&at=2"
        ),
        "detail of a deployed artifact": f"{deployed}/",
        "detail of one that needs a person": (
            f"{base}/monitor/integrations/security-material/{made['broken'].pk}/"
        ),
        "Add form": f"{base}/monitor/integrations/security-material/add/oauth2-authorization-code/",
        "Edit form": f"{deployed}/edit/",
        "Delete confirmation": f"{deployed}/delete/",
        "Connectivity Tests": f"{base}/monitor/integrations/connectivity-tests/",
        "API Tokens": f"{base}/monitor/integrations/api-tokens/",
        "callback error page": f"{base}/oauth2/callback/?state=unknown&code=x",
        "400 page": f"{base}/monitor/integrations/security-material/?at=abc",
        "404 page": f"{base}/monitor/integrations/security-material/999999/",
        "API description": f"{base}/api/v1/docs",
        "list filtered by type": (
            f"{base}/monitor/integrations/security-material/?type=user-credentials"
        ),
    }
    for kind, key in (
        ("user-credentials", "user"),
        ("secure-parameter", "parameter"),
        ("oauth2-client-credentials", "client"),
    ):
        item = f"{base}/monitor/integrations/security-material/{made[key].pk}"
        pages[f"Add {kind}"] = f"{base}/monitor/integrations/security-material/add/{kind}/"
        pages[f"detail of {kind}"] = f"{item}/"
        pages[f"Edit {kind}"] = f"{item}/edit/"
    problems: list[str] = []
    for what, url in pages.items():
        page.goto(url)
        problems += violations(page, what)

    # Pages with what an action leaves on them: field errors, a new API token, an outcome.
    for form in (
        "Add form",
        "Add user-credentials",
        "Add secure-parameter",
        "Add oauth2-client-credentials",
    ):
        page.goto(pages[form])
        page.get_by_role("button", name="Deploy").click()
        problems += violations(page, f"{form} with errors")
    page.goto(pages["API Tokens"])
    page.get_by_label("Name").fill("mailer")
    page.get_by_role("button", name="Create").click()
    problems += violations(page, "API Tokens with a new token")
    page.goto(pages["Connectivity Tests"])
    page.get_by_label("Host").fill("127.0.0.1")
    page.get_by_label("Port").fill("1")
    page.get_by_label("Protection").select_option(label="None")
    page.get_by_role("button", name="Send").click()
    problems += violations(page, "Connectivity Tests with an outcome")
    assert problems == [], "\n".join(problems)

    # The Django admin's pages are Django's (not held to our axe rules), but the CSP holds.
    pk = made["deployed"].pk
    for url in (
        "/admin/",
        "/admin/securitymaterial/oauth2authorizationcode/",
        f"/admin/securitymaterial/oauth2authorizationcode/{pk}/change/",
    ):
        page.goto(f"{base}{url}")
    page.goto(pages["Add form"])
    page.get_by_label("Tenant").fill("contoso.onmicrosoft.com")  # the form's script runs
    assert "contoso.onmicrosoft.com" in page.get_by_label("Token Service URL").input_value()
    assert csp_violations == []
