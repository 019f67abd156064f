"""A stored secret is sent only to the origin (scheme, host, port) it was entered for: an
edit that moves a URL its secrets go to must carry every one of them again, or it is
refused naming them, on the page and in the management API alike, for every type."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from api.models import ApiToken
from securitymaterial import validators
from securitymaterial.forms import FORMS
from securitymaterial.models import AuditEntry, OAuth2ClientCredentials
from tests.conftest import database_snapshot
from tests.securitymaterial.test_other_types_pages import FORMS as PAGE_FORMS
from tests.securitymaterial.test_other_types_pages import HEADER_KEY_VALUE, add, management

KIND = "oauth2-client-credentials"
BODY_KEY_VALUE = "body-Plain-Secret-5"
MOVES = [
    "https://collector.example.net/t",  # host
    "http://127.0.0.1:9999/t",  # scheme, host and port
    "https://auth.example.com:8443/t",  # port only
]


@pytest.fixture
def stored(admin_client: Client) -> OAuth2ClientCredentials:
    rows = [
        {"key": "X-Api-Key", "value": HEADER_KEY_VALUE, "send_as": "header"},
        {"key": "subscription_key", "value": BODY_KEY_VALUE, "send_as": "body"},
    ]
    assert add(admin_client, KIND, **management(rows)).status_code == 302
    return OAuth2ClientCredentials.objects.get()


def page_edit(artifact: OAuth2ClientCredentials, url: str, values: tuple[str, str]) -> dict:
    rows = [
        {"key": "X-Api-Key", "value": values[0], "send_as": "header"},
        {"key": "subscription_key", "value": values[1], "send_as": "body"},
    ]
    return {
        **PAGE_FORMS[KIND],
        "token_service_url": url,
        "client_secret": "anything-the-editor-likes",
        **management(rows),
        "param-INITIAL_FORMS": "2",
    }


@pytest.mark.parametrize("url", MOVES)
def test_the_page_refuses_to_move_custom_parameter_values_to_another_origin(
    admin_client: Client, stored: OAuth2ClientCredentials, url: str
) -> None:
    before = database_snapshot()
    response = admin_client.post(
        reverse("securitymaterial:edit", args=[stored.pk]), page_edit(stored, url, ("", ""))
    )
    assert response.status_code == 400
    assert database_snapshot() == before
    [message] = response.context["form"].non_field_errors()
    assert message == (
        "Token Service URL now points to another host. Enter the value of X-Api-Key, the "
        "value of subscription_key again: a stored secret is only sent where it was entered."
    )
    rows = response.context["form"].parameters.forms
    assert [row.errors["value"] == [message] for row in rows[:2]] == [True, True]


def test_the_page_refuses_even_one_value_left_blank(
    admin_client: Client, stored: OAuth2ClientCredentials
) -> None:
    before = database_snapshot()
    data = page_edit(stored, MOVES[0], ("typed-again", ""))
    response = admin_client.post(reverse("securitymaterial:edit", args=[stored.pk]), data)
    assert response.status_code == 400 and database_snapshot() == before
    [message] = response.context["form"].non_field_errors()
    assert "the value of subscription_key again" in message and "X-Api-Key" not in message


def test_every_value_typed_again_moves_with_the_url_and_is_audited_so(
    admin_client: Client, stored: OAuth2ClientCredentials
) -> None:
    data = page_edit(stored, MOVES[0], ("new-header", "new-body"))
    response = admin_client.post(reverse("securitymaterial:edit", args=[stored.pk]), data)
    assert response.status_code == 302
    stored.refresh_from_db()
    assert [p["value"] for p in stored.custom_parameters] == ["new-header", "new-body"]
    entry = AuditEntry.objects.get(action="updated")
    assert {
        "field": "Client Secret",
        "secret": True,
        "note": "entered again because Token Service URL moved to another host",
    } in entry.changes


def test_a_new_path_on_the_same_origin_keeps_the_values(
    admin_client: Client, stored: OAuth2ClientCredentials
) -> None:
    data = page_edit(stored, "https://AUTH.example.com:443/v2/token", ("", ""))
    response = admin_client.post(reverse("securitymaterial:edit", args=[stored.pk]), data)
    assert response.status_code == 302
    stored.refresh_from_db()
    assert [p["value"] for p in stored.custom_parameters] == [HEADER_KEY_VALUE, BODY_KEY_VALUE]


@pytest.fixture
def manager(db: None) -> Client:
    _, secret = ApiToken.create("provisioning", can_manage=True)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def put(client: Client, body: dict[str, Any]) -> Any:
    return client.put(
        f"/api/v1/manage/{KIND}/Erp_Client", json.dumps(body), content_type="application/json"
    )


@pytest.mark.parametrize(
    "parameters",
    [
        None,  # left out: "fields left out keep their values"
        [
            {"key": "X-Api-Key", "value": None, "send_as": "header"},
            {"key": "subscription_key", "value": "", "send_as": "body"},
        ],
    ],
)
def test_the_management_api_refuses_to_move_values_it_was_not_sent(
    manager: Client, stored: OAuth2ClientCredentials, parameters: Any
) -> None:
    body: dict[str, Any] = {"token_service_url": MOVES[0], "client_secret": "anything"}
    if parameters is not None:
        body["custom_parameters"] = parameters
    before = database_snapshot()
    response = put(manager, body)
    assert response.status_code == 400, response.content
    assert database_snapshot() == before
    errors = response.json()["errors"]
    assert "the value of X-Api-Key, the value of subscription_key again" in errors["request"][0]
    assert set(errors) >= {"custom_parameters.0.value", "custom_parameters.1.value"}


def test_the_management_api_moves_values_sent_again(
    manager: Client, stored: OAuth2ClientCredentials
) -> None:
    parameters = [
        {"key": "X-Api-Key", "value": "h2", "send_as": "header"},
        {"key": "subscription_key", "value": "b2", "send_as": "body"},
    ]
    body = {"token_service_url": MOVES[0], "client_secret": "s", "custom_parameters": parameters}
    assert put(manager, body).status_code == 200
    stored.refresh_from_db()
    assert stored.custom_parameters == parameters


def test_the_management_api_keeps_values_left_out_on_the_same_origin(
    manager: Client, stored: OAuth2ClientCredentials
) -> None:
    assert put(manager, {"client_secret": "s", "scope": "other"}).status_code == 200
    stored.refresh_from_db()
    assert [p["value"] for p in stored.custom_parameters] == [HEADER_KEY_VALUE, BODY_KEY_VALUE]


def test_an_authorization_code_secret_left_out_of_an_api_change_does_not_move(
    manager: Client, make_artifact: Any
) -> None:
    artifact = make_artifact()
    before = database_snapshot()
    response = manager.put(
        f"/api/v1/manage/oauth2-authorization-code/{artifact.name}",
        json.dumps({"token_service_url": "https://collector.example.net/token"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "Enter the Client Secret again" in response.json()["errors"]["client_secret"][0]
    assert database_snapshot() == before


@pytest.mark.parametrize("kind", list(FORMS))
def test_every_url_a_type_sends_secrets_to_binds_them(kind: str) -> None:
    """A new type (or a new URL field) cannot forget the rule: every field validated as an
    endpoint URL is a destination its secrets are bound to."""
    form = FORMS[kind]
    urls = {
        name
        for name, field in form.base_fields.items()
        if validators.validate_endpoint_url in field.validators
    }
    assert urls == set(form.SECRET_DESTINATIONS)
    assert not urls or form.SECRET_FIELDS
