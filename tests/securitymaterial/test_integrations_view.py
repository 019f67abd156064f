"""Integrations and APIs: the Runtime selector and the Manage Security tiles."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

URL = reverse("securitymaterial:integrations")


def test_the_security_material_tile_shows_the_count_of_the_runtime(
    admin_client: Client, make_artifact: Any
) -> None:
    make_artifact(name="one")
    make_artifact(name="two")
    make_artifact(name="three", runtime="edge")
    cloud = admin_client.get(URL).content.decode()
    assert 'aria-label="2 artifacts"' in cloud
    assert f'href="{reverse("securitymaterial:list")}?runtime=cloud"' in cloud
    edge = admin_client.get(URL, {"runtime": "edge"}).content.decode()
    assert 'aria-label="1 artifacts"' in edge
    assert '<option value="edge" selected>Edge Integration Cell</option>' in edge


def test_the_tile_says_how_many_need_a_person(admin_client: Client, make_artifact: Any) -> None:
    make_artifact(name="fine")
    make_artifact(name="retrying", status="error", error_kind="transient")
    make_artifact(name="revoked", status="error", error_kind="reauthorize")
    html = admin_client.get(URL).content.decode()
    assert "1 needs a person" in html
    make_artifact(name="expired-secret", status="error", error_kind="configuration")
    assert "2 need a person" in admin_client.get(URL).content.decode()


def test_tiles_not_built_yet_are_visibly_disabled_not_links(admin_client: Client) -> None:
    html = admin_client.get(URL).content.decode()
    for title in ("Keystore", "PGP Keys", "Access Policies"):
        assert (
            f'<div class="tile disabled" aria-disabled="true" title="Not available yet">'
            f'<span class="tile-title">{title}</span>'
        ) in html


def test_connectivity_tests_and_api_tokens_are_tiles_for_those_who_may_use_them(
    admin_client: Client, reader_client: Client
) -> None:
    html = admin_client.get(URL).content.decode()
    assert 'href="/monitor/integrations/connectivity-tests/?runtime=cloud"' in html
    reader = reader_client.get(URL).content.decode()
    assert "connectivity:tests" not in reader and "api:tokens" not in reader
    assert 'title="Needs the Operator or Administrator role"' in reader


def test_an_unknown_runtime_is_a_400(admin_client: Client) -> None:
    response = admin_client.get(URL, {"runtime": "x" * 500})
    assert response.status_code == 400
    assert "Choose one of: cloud (Cloud Integration), edge (Edge Integration Cell)" in (
        response.content.decode()
    )


def test_the_home_page_leads_here_and_needs_a_login(db: None) -> None:
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_an_outsider_is_refused(outsider_client: Client) -> None:
    response = outsider_client.get(URL)
    assert response.status_code == 403
    assert "You are not allowed to do this" in response.content.decode()


def test_every_page_has_a_content_security_policy_without_inline_code(
    admin_client: Client,
) -> None:
    policy = admin_client.get(URL)["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
