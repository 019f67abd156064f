"""The API Tokens page: create (shown once), list, revoke; permissions; the audit."""

from __future__ import annotations

import logging
import re

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from api.models import ApiToken
from securitymaterial.models import AuditEntry

PAGE = "/monitor/integrations/api-tokens/"


def client_with(*codenames: str) -> Client:
    user = User.objects.create_user(f"user{len(codenames)}", "u@example.com", "pw")
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="api", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def manager(db: None) -> Client:
    return client_with("view_apitoken", "add_apitoken", "delete_apitoken")


def test_a_new_token_is_shown_once_and_stored_as_a_hash(
    manager: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = manager.post(
        PAGE,
        {
            "name": "invoice-mailer",
            "runtime": "cloud",
            "artifacts": "M365_Mailer, Other",
            "can_consume": "on",
        },
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    [secret] = re.findall(r'value="(smt_[^"]+)"', page)
    token = ApiToken.authenticate(secret)
    assert token is not None and token.artifact_names == ["M365_Mailer", "Other"]
    assert secret not in str(list(ApiToken.objects.values_list()))
    assert secret not in manager.get(PAGE).content.decode()  # once
    assert secret not in caplog.text
    entry = AuditEntry.objects.get(action="api_token_created")
    assert entry.detail == "API token “invoice-mailer”" and entry.actor_name == "user3"


def test_the_list_says_who_made_it_its_limits_and_last_use(manager: Client) -> None:
    ApiToken.create("scripted", runtime="edge")
    page = manager.get(PAGE).content.decode()
    assert "scripted" in page and "Edge Integration Cell, all artifacts" in page
    assert "manage.py" in page and "Never" in page and "Active" in page


def test_revoking_stops_the_token_and_is_audited(manager: Client) -> None:
    token, secret = ApiToken.create("old")
    response = manager.post(f"{PAGE}{token.pk}/revoke/", follow=True)
    assert "Revoked the API token old." in response.content.decode()
    assert ApiToken.authenticate(secret) is None
    assert AuditEntry.objects.filter(action="api_token_revoked", actor_name="user3").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"name": "two words"}, "names the token by it"),
        ({"name": "ok", "runtime": "moon"}, "Choose a runtime from the list."),
        ({"name": "ok", "artifacts": "good bad/name"}, "is not an artifact name"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_created(
    manager: Client, data: dict[str, str], message: str
) -> None:
    response = manager.post(PAGE, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_duplicate_name_is_refused(manager: Client) -> None:
    ApiToken.create("taken")
    response = manager.post(PAGE, {"name": "TAKEN"})
    assert response.status_code == 400
    assert "exists already" in response.content.decode()


def test_who_may_do_what(db: None) -> None:
    token, _ = ApiToken.create("x")
    viewer, outsider = client_with("view_apitoken"), Client()
    outsider.force_login(User.objects.create_user("otto", "o@example.com", "pw"))
    assert viewer.get(PAGE).status_code == 200
    assert "Create an API token" not in viewer.get(PAGE).content.decode()
    assert viewer.post(PAGE, {"name": "y"}).status_code == 403
    assert viewer.post(f"{PAGE}{token.pk}/revoke/").status_code == 403
    assert outsider.get(PAGE).status_code == 403
    assert ApiToken.objects.count() == 1 and ApiToken.objects.get().revoked_at is None


def test_a_token_may_manage_only_when_the_admin_says_so(manager: Client) -> None:
    manager.post(PAGE, {"name": "integration", "can_consume": "on"})
    manager.post(PAGE, {"name": "provisioning", "can_manage": "on"})
    assert not ApiToken.objects.get(name="integration").can_manage
    assert ApiToken.objects.get(name="provisioning").can_manage
    assert "Manages artifacts" in manager.get(PAGE).content.decode()
