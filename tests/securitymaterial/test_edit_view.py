"""Editing: Name is read-only, a blank Client Secret keeps the stored one, changes are audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode
from tests.conftest import CLIENT_SECRET, database_snapshot


def edit_data(artifact: OAuth2AuthorizationCode, **overrides: Any) -> dict[str, Any]:
    data = {
        "name": artifact.name,
        "description": artifact.description,
        "provider": artifact.provider,
        "tenant": artifact.tenant,
        "authorization_url": artifact.authorization_url,
        "token_service_url": artifact.token_service_url,
        "refresh_token_expiry_days": artifact.refresh_token_expiry_days or "",
        "client_id": artifact.client_id,
        "client_secret": "",
        "send_as": artifact.send_as,
        "user_name": artifact.user_name,
        "scope": artifact.scope,
        "use_pkce": "on" if artifact.use_pkce else "",
    }
    data.update(overrides)
    return data


def test_the_edit_form_never_renders_the_secret_and_shows_name_read_only(
    admin_client: Client, make_artifact: Any
) -> None:
    artifact = make_artifact()
    html = admin_client.get(reverse("securitymaterial:edit", args=[artifact.pk])).content.decode()
    assert CLIENT_SECRET not in html
    assert 'name="name" value="Generic_App"' in html
    assert "disabled" in html.split('id="id_name"')[0].rsplit("<input", 1)[1]
    assert "Leave blank to keep the stored secret" in html


def test_a_blank_secret_keeps_the_stored_one_and_changes_are_recorded(
    admin_client: Client, make_artifact: Any, admin_user: Any
) -> None:
    artifact = make_artifact()
    url = reverse("securitymaterial:edit", args=[artifact.pk])
    response = admin_client.post(url, edit_data(artifact, scope="read", name="Renamed"))
    assert response.status_code == 302
    artifact.refresh_from_db()
    assert artifact.name == "Generic_App"  # a posted name is ignored
    assert artifact.client_secret == CLIENT_SECRET
    assert artifact.scope == "read"
    entry = AuditEntry.objects.get(action="updated")
    assert entry.actor == admin_user
    assert entry.changes == [{"field": "Scope", "to": "read", "from": "read write"}]


def test_a_new_secret_is_stored_and_audited_without_its_value(
    admin_client: Client, make_artifact: Any
) -> None:
    artifact = make_artifact()
    url = reverse("securitymaterial:edit", args=[artifact.pk])
    admin_client.post(url, edit_data(artifact, client_secret="n3w-secret"))
    artifact.refresh_from_db()
    assert artifact.client_secret == "n3w-secret"
    entry = AuditEntry.objects.get(action="updated")
    assert entry.changes == [{"field": "Client Secret", "secret": True}]
    detail = admin_client.get(reverse("securitymaterial:detail", args=[artifact.pk]))
    assert "Client Secret changed" in detail.content.decode()
    assert "n3w-secret" not in detail.content.decode()


def test_saving_without_changes_records_nothing(admin_client: Client, make_artifact: Any) -> None:
    artifact = make_artifact()
    before = database_snapshot()
    admin_client.post(reverse("securitymaterial:edit", args=[artifact.pk]), edit_data(artifact))
    assert database_snapshot() == before


def test_bad_input_on_edit_changes_nothing(admin_client: Client, make_artifact: Any) -> None:
    artifact = make_artifact()
    before = database_snapshot()
    response = admin_client.post(
        reverse("securitymaterial:edit", args=[artifact.pk]),
        edit_data(artifact, token_service_url="http://auth.example.com/token"),
    )
    assert response.status_code == 400
    assert "only allowed for localhost" in response.content.decode()
    assert database_snapshot() == before


def test_a_reader_cannot_edit(reader_client: Client, make_artifact: Any) -> None:
    artifact = make_artifact()
    url = reverse("securitymaterial:edit", args=[artifact.pk])
    assert reader_client.get(url).status_code == 403
    assert reader_client.post(url, edit_data(artifact, scope="x")).status_code == 403
    artifact.refresh_from_db()
    assert artifact.scope == "read write"


def test_an_unknown_artifact_is_a_404(admin_client: Client, db: None) -> None:
    response = admin_client.get(reverse("securitymaterial:edit", args=[999]))
    assert response.status_code == 404
    assert "There is no such page or artifact" in response.content.decode()


def test_saving_without_changes_says_so(admin_client: Client, make_artifact: Any) -> None:
    artifact = make_artifact()
    response = admin_client.post(
        reverse("securitymaterial:edit", args=[artifact.pk]), edit_data(artifact), follow=True
    )
    assert "Nothing changed in Generic_App." in response.content.decode()


def authorized(make_artifact: Any) -> OAuth2AuthorizationCode:
    artifact: OAuth2AuthorizationCode = make_artifact(
        status="deployed", access_token="AT-secret", refresh_token="RT-secret"
    )
    return artifact


def test_the_edit_page_warns_before_an_authorized_artifact_loses_its_tokens(
    admin_client: Client, make_artifact: Any
) -> None:
    artifact = authorized(make_artifact)
    html = admin_client.get(reverse("securitymaterial:edit", args=[artifact.pk])).content.decode()
    assert "removes its tokens and sets it back to Unauthorized" in html


def test_changing_the_secret_of_an_authorized_artifact_wipes_its_tokens(
    admin_client: Client, make_artifact: Any
) -> None:
    artifact = authorized(make_artifact)
    admin_client.post(
        reverse("securitymaterial:edit", args=[artifact.pk]),
        edit_data(artifact, client_secret="rotated-secret"),
    )
    artifact.refresh_from_db()
    assert artifact.status == "unauthorized"
    assert (artifact.access_token, artifact.refresh_token) == ("", "")
    assert "choose Authorize to sign in again" in artifact.status_hint


def test_changing_the_description_keeps_the_tokens(
    admin_client: Client, make_artifact: Any
) -> None:
    artifact = authorized(make_artifact)
    admin_client.post(
        reverse("securitymaterial:edit", args=[artifact.pk]),
        edit_data(artifact, description="now documented", use_pkce=""),
    )
    artifact.refresh_from_db()
    assert artifact.status == "deployed"
    assert artifact.refresh_token == "RT-secret"
    assert artifact.description == "now documented"


def test_an_edit_never_writes_back_a_refresh_token_rotated_meanwhile(
    make_artifact: Any, admin_user: Any
) -> None:
    from securitymaterial import services
    from securitymaterial.forms import OAuth2AuthorizationCodeForm

    artifact = authorized(make_artifact)
    stale = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)  # what the edit request loaded
    form = OAuth2AuthorizationCodeForm(edit_data(stale, description="documented"), instance=stale)
    assert form.is_valid(), form.errors
    # Meanwhile a worker refreshes and the provider rotates the refresh token.
    OAuth2AuthorizationCode.objects.filter(pk=artifact.pk).update(
        refresh_token="RT-rotated", access_token="AT-rotated"
    )
    assert services.redeploy(form, admin_user)
    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert stored.description == "documented"
    assert (stored.refresh_token, stored.access_token) == ("RT-rotated", "AT-rotated")


EDIT_ERRORS = "form"


def edit(client: Client, artifact: OAuth2AuthorizationCode, **overrides: Any) -> Any:
    return client.post(
        reverse("securitymaterial:edit", args=[artifact.pk]), edit_data(artifact, **overrides)
    )


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("token_service_url", "https://collector.example.net/token"),
        ("token_service_url", "http://127.0.0.1:9999/token"),  # scheme, host and port
        ("token_service_url", "https://auth.example.com:8443/token"),  # port only
        ("authorization_url", "https://evil.example.net/authorize"),
    ],
)
def test_pointing_a_url_at_another_host_needs_the_client_secret_again(
    admin_client: Client, make_artifact: Any, field: str, url: str
) -> None:
    artifact = make_artifact()
    before = database_snapshot()
    response = edit(admin_client, artifact, **{field: url})
    assert response.status_code == 400
    [error] = response.context[EDIT_ERRORS].errors["client_secret"]
    assert "now points to another host. Enter the Client Secret again" in error
    assert database_snapshot() == before


def test_a_url_on_another_host_is_saved_with_the_secret_entered_again_and_audited_so(
    admin_client: Client, make_artifact: Any
) -> None:
    artifact = make_artifact()
    response = edit(
        admin_client,
        artifact,
        token_service_url="https://login.example.net/token",
        client_secret=CLIENT_SECRET,  # the same secret, typed again
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="updated")
    assert {
        "field": "Client Secret",
        "secret": True,
        "note": "entered again because Token Service URL moved to another host",
    } in entry.changes
    page = admin_client.get(reverse("securitymaterial:detail", args=[artifact.pk]))
    assert "Client Secret entered again because Token Service URL moved" in page.content.decode()


def test_a_new_path_on_the_same_host_keeps_the_stored_secret(
    admin_client: Client, make_artifact: Any
) -> None:
    artifact = make_artifact()
    response = edit(admin_client, artifact, token_service_url="https://AUTH.example.com:443/v2")
    assert response.status_code == 302
    artifact.refresh_from_db()
    assert artifact.client_secret == CLIENT_SECRET


def microsoft(make_artifact: Any, tenant: str = "contoso.onmicrosoft.com") -> Any:
    return make_artifact(
        provider="microsoft365",
        tenant=tenant,
        authorization_url=f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
        token_service_url=f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        refresh_token_expiry_days=90,
        scope="https://outlook.office.com/SMTP.Send offline_access",
    )


def test_a_new_tenant_moves_the_urls_that_were_the_old_tenants_defaults(
    admin_client: Client, make_artifact: Any
) -> None:
    artifact = microsoft(make_artifact)
    response = admin_client.post(
        reverse("securitymaterial:edit", args=[artifact.pk]),
        edit_data(artifact, tenant="fabrikam.onmicrosoft.com"),
        follow=True,
    )
    artifact.refresh_from_db()
    assert artifact.tenant == "fabrikam.onmicrosoft.com"
    assert artifact.authorization_url == (
        "https://login.microsoftonline.com/fabrikam.onmicrosoft.com/oauth2/v2.0/authorize"
    )
    assert artifact.token_service_url == (
        "https://login.microsoftonline.com/fabrikam.onmicrosoft.com/oauth2/v2.0/token"
    )
    assert (
        "Authorization URL and Token Service URL now use the tenant fabrikam.onmicrosoft.com."
        in response.content.decode()
    )


def test_a_new_tenant_leaves_urls_typed_by_hand_and_says_so(
    admin_client: Client, make_artifact: Any
) -> None:
    artifact = microsoft(make_artifact)
    us_gov = "https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token"
    artifact.token_service_url = us_gov
    artifact.save()
    response = admin_client.post(
        reverse("securitymaterial:edit", args=[artifact.pk]),
        edit_data(artifact, tenant="fabrikam.onmicrosoft.com"),
        follow=True,
    )
    artifact.refresh_from_db()
    assert artifact.token_service_url == us_gov
    assert "fabrikam.onmicrosoft.com/oauth2/v2.0/authorize" in artifact.authorization_url
    page = response.content.decode()
    assert "Authorization URL now uses the tenant fabrikam.onmicrosoft.com." in page
    assert "Token Service URL was typed by hand and stays as it is" in page


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("application/json", '{"description": "x"}'), ("text/plain", "description=x")],
)
def test_a_post_that_is_not_a_form_is_refused_with_a_message(
    admin_client: Client, make_artifact: Any, content_type: str, body: str
) -> None:
    artifact = make_artifact()
    before = database_snapshot()
    response = admin_client.post(
        reverse("securitymaterial:edit", args=[artifact.pk]), body, content_type=content_type
    )
    assert response.status_code == 400
    assert "Send the form as application/x-www-form-urlencoded" in response.content.decode()
    assert database_snapshot() == before


def test_an_empty_form_post_shows_what_is_missing(admin_client: Client, make_artifact: Any) -> None:
    artifact = make_artifact()
    response = admin_client.post(reverse("securitymaterial:edit", args=[artifact.pk]), {})
    assert response.status_code == 400
    assert "This field is required." in response.context[EDIT_ERRORS].errors["client_id"]
