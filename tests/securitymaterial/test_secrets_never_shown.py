"""Secrets and tokens never reach a log line or a page, the Django admin included."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode, Status
from tests.conftest import CLIENT_SECRET, valid_form_data

ADD_URL = reverse("securitymaterial:add", args=["oauth2-authorization-code"])
ACCESS_TOKEN = "access-token-marker-5d1f"
REFRESH_TOKEN = "refresh-token-marker-9c2e"
SECRETS = (CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN)


def test_no_log_line_carries_the_secret(
    admin_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    admin_client.post(ADD_URL, valid_form_data())
    admin_client.post(ADD_URL, valid_form_data(name="bad name"))
    admin_client.post(ADD_URL, valid_form_data(description="x" * (3 * 1024 * 1024)))
    assert caplog.records, "expected some log output to check"
    assert CLIENT_SECRET not in caplog.text


@pytest.fixture
def authorized(make_artifact: Any) -> OAuth2AuthorizationCode:
    artifact: OAuth2AuthorizationCode = make_artifact(
        status=Status.DEPLOYED,
        access_token=ACCESS_TOKEN,
        refresh_token=REFRESH_TOKEN,
        access_token_expires_at=timezone.now() + timedelta(hours=1),
        refresh_token_renewed_at=timezone.now(),
    )
    AuditEntry.record(artifact, AuditEntry.Action.AUTHORIZED)
    return artifact


def _staff(*codenames: str, superuser: bool = False) -> Client:
    if superuser:
        user = User.objects.create_superuser("root", "root@example.com", "pw")
    else:
        user = User.objects.create_user("staff", "staff@example.com", "pw", is_staff=True)
        user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def _pages(artifact: OAuth2AuthorizationCode) -> list[str]:
    pk = [artifact.pk]
    entry = [AuditEntry.objects.get(action="authorized").pk]
    admin = "admin:securitymaterial_oauth2authorizationcode_"
    return [
        reverse("securitymaterial:list"),
        reverse("securitymaterial:detail", args=pk),  # holds the history too
        reverse("securitymaterial:edit", args=pk),
        reverse("securitymaterial:delete", args=pk),
        reverse(admin + "changelist"),
        reverse(admin + "change", args=pk),
        reverse(admin + "delete", args=pk),
        reverse(admin + "history", args=pk),
        reverse("admin:securitymaterial_auditentry_changelist"),
        reverse("admin:securitymaterial_auditentry_change", args=entry),
    ]


def test_no_page_of_the_app_or_the_admin_shows_a_secret_or_token(
    authorized: OAuth2AuthorizationCode,
) -> None:
    client = _staff(superuser=True)
    for url in _pages(authorized):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        for secret in SECRETS:
            assert secret not in page, (url, secret)
    change = client.get(_pages(authorized)[5]).content.decode()
    assert authorized.client_secret_fingerprint in change


def test_a_staff_user_who_may_only_view_sees_no_token_in_the_admin(
    authorized: OAuth2AuthorizationCode,
) -> None:
    client = _staff("view_oauth2authorizationcode")
    url = reverse("admin:securitymaterial_oauth2authorizationcode_change", args=[authorized.pk])
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert authorized.client_secret_fingerprint in page
    for secret in SECRETS:
        assert secret not in page


def test_a_delete_in_the_admin_is_audited(authorized: OAuth2AuthorizationCode) -> None:
    client = _staff(superuser=True)
    url = reverse("admin:securitymaterial_oauth2authorizationcode_delete", args=[authorized.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not OAuth2AuthorizationCode.objects.exists()
    entry = AuditEntry.objects.get(action="deleted")
    assert (entry.artifact_name, entry.actor_name) == (authorized.name, "root")


def test_a_bulk_delete_in_the_admin_is_audited_for_each_artifact(
    authorized: OAuth2AuthorizationCode, make_artifact: Any
) -> None:
    other = make_artifact(name="Other_App")
    client = _staff(superuser=True)
    response = client.post(
        reverse("admin:securitymaterial_oauth2authorizationcode_changelist"),
        {"action": "delete_selected", "_selected_action": [authorized.pk, other.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not OAuth2AuthorizationCode.objects.exists()
    deleted = AuditEntry.objects.filter(action="deleted")
    assert sorted(deleted.values_list("artifact_name", flat=True)) == ["Generic_App", "Other_App"]
    assert {entry.actor_name for entry in deleted} == {"root"}


def test_no_log_line_page_or_admin_page_shows_a_secret_of_the_other_types(
    db: None, caplog: pytest.LogCaptureFixture, oauth_server: Any
) -> None:
    from oauthflows.client_credentials import fetch_token
    from securitymaterial.models import OAuth2ClientCredentials, SecureParameter, UserCredentials

    caplog.set_level(logging.DEBUG)
    markers = (
        "password-marker-71a",
        "parameter-marker-2b9",
        "cc-secret-marker-4e0",
        "custom-marker-8f3",
    )
    user = UserCredentials.objects.create(name="U", user="u", password=markers[0])
    parameter = SecureParameter.objects.create(name="P", value=markers[1])
    client_credentials = OAuth2ClientCredentials.objects.create(
        name="C",
        token_service_url=f"{oauth_server.url}/o/token/",
        client_id="nobody",
        client_secret=markers[2],
        custom_parameters_json=f'[{{"key": "X-K", "value": "{markers[3]}", "send_as": "header"}}]',
    )
    fetch_token(client_credentials.pk)  # refused by the server: an error is logged
    assert caplog.records
    client = _staff(superuser=True)
    pages = [
        reverse("securitymaterial:list"),
        reverse("admin:securitymaterial_artifact_changelist"),
    ]
    for artifact in (user, parameter, client_credentials):
        pages += [
            reverse("securitymaterial:detail", args=[artifact.pk]),
            reverse("securitymaterial:edit", args=[artifact.pk]),
            reverse("admin:securitymaterial_artifact_change", args=[artifact.pk]),
        ]
    seen = caplog.text
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        seen += response.content.decode()
    seen += str(list(AuditEntry.objects.values()))
    for marker in markers[:3]:
        assert marker not in seen
    assert markers[3] not in caplog.text + str(list(AuditEntry.objects.values()))
