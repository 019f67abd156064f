"""An admin adds, filters, edits and deletes User Credentials, a Secure Parameter and OAuth2
Client Credentials by clicking through the pages, and fetches a client's token from the real
test OAuth server."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from securitymaterial.models import Artifact, OAuth2ClientCredentials, Status
from tests.e2e.test_deploy_in_browser import sign_in_as_admin
from tests.support.oauth_server import OAuthServer

SECRETS = ("pw-Browser-1", "param-Browser-2", "cc-Browser-3")


def open_add(page: Page, label: str) -> None:
    page.get_by_role("button", name="Add").click()
    page.get_by_role("link", name=label, exact=True).click()
    expect(page.get_by_role("heading", name=f"Add {label}")).to_be_visible()


def test_an_admin_adds_filters_edits_and_deletes_each_new_type(
    page: Page, live_server: Any, transactional_db: None, oauth_server: OAuthServer
) -> None:
    oauth_server.register_client(
        "browser-cc",
        SECRETS[2],
        "http://localhost/unused",
        auth_method="basic",
        grant="client-credentials",
    )
    sign_in_as_admin(page, live_server)
    page.goto(f"{live_server.url}/monitor/integrations/security-material/")

    open_add(page, "User Credentials")
    page.get_by_label("Name", exact=True).fill("Erp_User")
    expect(page.get_by_label("Company ID")).to_be_hidden()  # SuccessFactors only
    page.get_by_label("Type").select_option(label="SuccessFactors")
    page.get_by_label("Company ID").fill("ACME")
    page.get_by_label("User", exact=True).fill("erp")
    page.get_by_label("Password").fill(SECRETS[0])
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_text("Deployed Erp_User.")).to_be_visible()

    open_add(page, "Secure Parameter")
    page.get_by_label("Name", exact=True).fill("Erp_Key")
    page.get_by_label("Secure Parameter", exact=True).fill(SECRETS[1])
    page.get_by_label("Repeat Secure Parameter").fill("typo")
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_text("The two entries differ")).to_be_visible()
    page.get_by_label("Secure Parameter", exact=True).fill(SECRETS[1])
    page.get_by_label("Repeat Secure Parameter").fill(SECRETS[1])
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_text("Deployed Erp_Key.")).to_be_visible()

    open_add(page, "OAuth2 Client Credentials")
    page.get_by_label("Name", exact=True).fill("Erp_Client")
    page.get_by_label("Token Service URL").fill(f"{oauth_server.url}/o/token/")
    page.get_by_label("Client ID").fill("browser-cc")
    page.get_by_label("Client Secret").fill(SECRETS[2])
    page.get_by_label("Client Authentication").select_option(label="Send as Request Header")
    page.get_by_label("Scope").fill("read")
    page.get_by_label("Key 1").fill("X-Tenant-Id")
    page.get_by_label("Value 1").fill("tenant-7")
    page.get_by_label("Send as Part of 1").select_option(label="Header")
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_text("Deployed Erp_Client.")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("Erp_Client"))
    expect(row.get_by_text("Stored", exact=True)).to_be_visible()

    # The type column and the filter.
    expect(page.get_by_role("row", name=re.compile("Erp_User"))).to_contain_text("User Credentials")
    page.get_by_label("Filter by type").select_option(label="Secure Parameter")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("row", name=re.compile("Erp_Key"))).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Erp_User"))).to_have_count(0)

    # Fetch Token asks the real server, with the custom header.
    page.goto(f"{live_server.url}/monitor/integrations/security-material/")
    page.get_by_role("link", name="Erp_Client").click()
    page.get_by_role("button", name="Fetch Token").click()
    expect(page.get_by_text("Fetched a token for Erp_Client; it is deployed.")).to_be_visible()
    assert oauth_server.token_requests()[-1]["headers"]["X-Tenant-Id"] == "tenant-7"
    assert OAuth2ClientCredentials.objects.get().status == Status.DEPLOYED

    # Editing needs the secret again; without it nothing changes. Parameter values are
    # write-only: blank on the page, kept when left blank.
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Key 1")).to_have_value("X-Tenant-Id")
    expect(page.get_by_label("Value 1")).to_have_value("")
    page.get_by_label("Scope").fill("read write")
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_text("Nothing was deployed.")).to_be_visible()
    page.get_by_label("Client Secret").fill(SECRETS[2])
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_text("Deployed Erp_Client.")).to_be_visible()
    expect(page.get_by_text("Scope: “read” → “read write”")).to_be_visible()
    assert OAuth2ClientCredentials.objects.get().custom_parameters[0]["value"] == "tenant-7"

    html = page.content()
    page.goto(f"{live_server.url}/monitor/integrations/security-material/")
    html += page.content()
    assert not any(secret in html for secret in (*SECRETS, "tenant-7"))

    # Delete each.
    for name in ("Erp_User", "Erp_Key", "Erp_Client"):
        page.get_by_role("row", name=re.compile(name)).get_by_role("link", name="Delete").click()
        page.get_by_role("button", name="Delete").click()
        expect(page.get_by_text(f"Deleted {name}.")).to_be_visible()
    assert not Artifact.objects.exists()
