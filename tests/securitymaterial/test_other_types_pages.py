"""User Credentials, Secure Parameter and OAuth2 Client Credentials on the pages: added,
shown, edited, filtered and deleted like the authorization-code type, with the same rules
for secrets, audit and bad input."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from securitymaterial.crypto import fingerprint
from securitymaterial.models import (
    Artifact,
    AuditEntry,
    OAuth2ClientCredentials,
    SecureParameter,
    Status,
    UserCredentials,
)
from tests.conftest import database_snapshot, fuzz_examples

PASSWORD_VALUE = "pw Plain-Secret 1"
PARAMETER_VALUE = "param-Plain-Secret-2"
CLIENT_SECRET_VALUE = "cc-Plain-Secret-3"
HEADER_KEY_VALUE = "header-Plain-Secret-4"


def management(rows: list[dict[str, str]], total: int | None = None) -> dict[str, str]:
    data = {
        "param-TOTAL_FORMS": str(len(rows) if total is None else total),
        "param-INITIAL_FORMS": "0",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"param-{index}-{key}"] = value
    return data


FORMS: dict[str, dict[str, str]] = {
    "user-credentials": {
        "name": "Erp_User",
        "description": "ERP login",
        "credential_kind": "default",
        "company_id": "",
        "user": "erp",
        "password": PASSWORD_VALUE,
    },
    "secure-parameter": {
        "name": "Erp_Key",
        "description": "",
        "value": PARAMETER_VALUE,
        "repeat_value": PARAMETER_VALUE,
    },
    "oauth2-client-credentials": {
        "name": "Erp_Client",
        "description": "",
        "token_service_url": "https://auth.example.com/t",
        "client_id": "erp",
        "client_secret": CLIENT_SECRET_VALUE,
        "client_authentication": "body",
        "scope": "read  write",
        "content_type": "application/x-www-form-urlencoded",
        "resource": "",
        "audience": "",
        **management(
            [
                {"key": "X-Api-Key", "value": HEADER_KEY_VALUE, "send_as": "header"},
                {"key": "", "value": "", "send_as": "body"},
            ]
        ),
    },
}
SECRETS = (PASSWORD_VALUE, PARAMETER_VALUE, CLIENT_SECRET_VALUE, HEADER_KEY_VALUE)


def add(client: Client, kind: str, **changes: str) -> Any:
    url = reverse("securitymaterial:add", args=[kind])
    return client.post(url, {**FORMS[kind], **changes})


@pytest.mark.parametrize("kind", list(FORMS))
def test_each_type_is_added_audited_and_shown_without_its_secret(
    admin_client: Client, kind: str
) -> None:
    response = add(admin_client, kind)
    assert response.status_code == 302, response.content.decode()[-3000:]
    artifact = Artifact.objects.get(name=FORMS[kind]["name"]).typed()
    assert artifact.kind == kind
    expected = Status.STORED if kind == "oauth2-client-credentials" else Status.DEPLOYED
    assert artifact.status == expected
    entry = AuditEntry.objects.get(artifact=artifact)
    assert entry.action == AuditEntry.Action.CREATED
    assert any(change.get("secret") for change in entry.changes)
    pages = [
        admin_client.get(reverse("securitymaterial:detail", args=[artifact.pk])),
        admin_client.get(reverse("securitymaterial:edit", args=[artifact.pk])),
        admin_client.get(reverse("securitymaterial:list")),
        admin_client.get(reverse("securitymaterial:delete", args=[artifact.pk])),
    ]
    seen = " ".join(page.content.decode() for page in pages) + str(entry.changes)
    for page in pages:
        assert page.status_code == 200
    secret = {"user-credentials": PASSWORD_VALUE, "secure-parameter": PARAMETER_VALUE}.get(
        kind, CLIENT_SECRET_VALUE
    )
    assert f"fingerprint {fingerprint(secret)}" in pages[0].content.decode()
    assert not any(value in seen for value in SECRETS[:3])
    assert not any(value in str(database_snapshot()) for value in SECRETS)


def test_the_list_has_a_type_column_and_filter(admin_client: Client) -> None:
    for kind in FORMS:
        add(admin_client, kind)
    url = reverse("securitymaterial:list")
    html = admin_client.get(url).content.decode()
    for label in ("User Credentials", "Secure Parameter", "OAuth2 Client Credentials"):
        assert f"<td>{label}</td>" in html
    only = admin_client.get(url, {"type": "secure-parameter"}).content.decode()
    assert "Erp_Key" in only and "Erp_User" not in only and "Erp_Client" not in only
    by_type = admin_client.get(url, {"sort": "type"}).content.decode()
    assert by_type.index("Erp_Client") < by_type.index("Erp_Key") < by_type.index("Erp_User")
    bad = admin_client.get(url, {"type": "keystore"})
    assert bad.status_code == 400 and "Unknown type" in bad.content.decode()
    empty = admin_client.get(url, {"type": "oauth2-authorization-code"}).content.decode()
    assert "No OAuth2 Authorization Code." in empty


def test_a_name_is_unique_across_types_in_any_case(admin_client: Client) -> None:
    add(admin_client, "secure-parameter")
    before = database_snapshot()
    response = add(admin_client, "user-credentials", name="ERP_KEY")
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert database_snapshot() == before


def test_an_edit_may_leave_the_password_blank_and_keeps_it(admin_client: Client) -> None:
    add(admin_client, "user-credentials")
    artifact = UserCredentials.objects.get()
    url = reverse("securitymaterial:edit", args=[artifact.pk])
    data = {**FORMS["user-credentials"], "password": "", "user": "erp2"}
    assert admin_client.post(url, data).status_code == 302
    artifact.refresh_from_db()
    assert (artifact.user, artifact.password) == ("erp2", PASSWORD_VALUE)
    change = AuditEntry.objects.filter(action="updated").get().changes
    assert change == [{"field": "User", "from": "erp", "to": "erp2"}]


def test_successfactors_needs_a_company_id(admin_client: Client) -> None:
    response = add(admin_client, "user-credentials", credential_kind="successfactors")
    assert response.status_code == 400 and "Enter the Company ID" in response.content.decode()
    assert (
        add(
            admin_client, "user-credentials", credential_kind="successfactors", company_id="ACME"
        ).status_code
        == 302
    )


def test_the_two_secure_parameter_entries_must_match(admin_client: Client) -> None:
    response = add(admin_client, "secure-parameter", repeat_value="something else")
    assert response.status_code == 400
    assert "The two entries differ" in response.content.decode()
    assert not SecureParameter.objects.exists()


def test_a_client_credentials_edit_needs_the_secret_again_and_drops_the_token(
    admin_client: Client,
) -> None:
    add(admin_client, "oauth2-client-credentials")
    artifact = OAuth2ClientCredentials.objects.get()
    OAuth2ClientCredentials.objects.filter(pk=artifact.pk).update(
        access_token="AT-cached", status=Status.DEPLOYED
    )
    url = reverse("securitymaterial:edit", args=[artifact.pk])
    edit = {**FORMS["oauth2-client-credentials"], "client_secret": "", "scope": "read"}
    before = database_snapshot()
    refused = admin_client.post(url, edit)
    assert refused.status_code == 400 and database_snapshot() == before
    assert admin_client.post(url, {**edit, "client_secret": "new-secret"}).status_code == 302
    artifact.refresh_from_db()
    assert artifact.client_secret == "new-secret" and artifact.access_token == ""
    assert artifact.status == Status.STORED


def test_parameter_values_are_write_only_and_a_blank_one_is_kept(admin_client: Client) -> None:
    add(admin_client, "oauth2-client-credentials")
    artifact = OAuth2ClientCredentials.objects.get()
    url = reverse("securitymaterial:edit", args=[artifact.pk])
    page = admin_client.get(url).content.decode()
    assert 'value="X-Api-Key"' in page and HEADER_KEY_VALUE not in page
    row = [{"key": "X-Api-Key", "value": "", "send_as": "header"}]
    kept = {**FORMS["oauth2-client-credentials"], **management(row, 1), "param-INITIAL_FORMS": "1"}
    assert admin_client.post(url, kept).status_code == 302
    artifact.refresh_from_db()
    assert artifact.custom_parameters[0]["value"] == HEADER_KEY_VALUE
    row[0]["value"] = "a-new-value"
    changed = {**kept, **management(row, 1), "param-INITIAL_FORMS": "1"}
    assert admin_client.post(url, changed).status_code == 302
    artifact.refresh_from_db()
    assert artifact.custom_parameters[0]["value"] == "a-new-value"


@pytest.mark.parametrize(
    ("rows", "total", "message"),
    [
        ([{"key": "client_secret", "value": "x", "send_as": "body"}], None, "set by the service"),
        ([{"key": "Authorization", "value": "x", "send_as": "header"}], None, "set by the service"),
        (
            [
                {"key": "a", "value": "1", "send_as": "url"},
                {"key": "A", "value": "2", "send_as": "url"},
            ],
            None,
            "appears twice",
        ),
        ([{"key": "", "value": "orphan", "send_as": "body"}], None, "Enter a key"),
        ([{"key": "k", "value": "v", "send_as": "cookie"}], None, "Choose Body"),
        (
            [{"key": f"k{i}", "value": "v", "send_as": "body"} for i in range(21)],
            None,
            "Enter at most 20 custom parameters.",
        ),
        ([], 10**9, "Enter at most 20 custom parameters."),
    ],
)
def test_bad_custom_parameters_are_refused_with_a_message(
    admin_client: Client, rows: list[dict[str, str]], total: int | None, message: str
) -> None:
    before = database_snapshot()
    response = add(admin_client, "oauth2-client-credentials", **management(rows, total))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert database_snapshot() == before


def test_a_form_without_its_parameter_table_is_refused_not_a_500(admin_client: Client) -> None:
    data = {k: v for k, v in FORMS["oauth2-client-credentials"].items() if "param" not in k}
    response = admin_client.post(
        reverse("securitymaterial:add", args=["oauth2-client-credentials"]), data
    )
    assert response.status_code == 400


def test_a_reader_may_see_but_not_add_or_fetch(reader_client: Client, admin_client: Client) -> None:
    add(admin_client, "oauth2-client-credentials")
    artifact = OAuth2ClientCredentials.objects.get()
    assert (
        reader_client.get(reverse("securitymaterial:detail", args=[artifact.pk])).status_code == 200
    )
    for kind in FORMS:
        assert reader_client.get(reverse("securitymaterial:add", args=[kind])).status_code == 403
    fetch = reverse("oauthflows:fetch-token", args=[artifact.pk])
    assert reader_client.post(fetch).status_code == 403


FUZZ = settings(
    max_examples=fuzz_examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=200) | st.sampled_from(
    ["", "\x00", "\u202e", "9" * 5000, "javascript:alert(1)", "-1", "99999999999999999999"]
)
FIELDS = [(kind, field) for kind, data in FORMS.items() for field in data]


@FUZZ
@given(st.sampled_from(FIELDS), TEXT)
def test_any_value_in_any_field_of_the_new_types_is_refused_or_deployed_never_a_500(
    admin_client: Client, kind_and_field: tuple[str, str], value: str
) -> None:
    kind, field = kind_and_field
    Artifact.objects.filter(name="Fuzzed").delete()
    before = database_snapshot()
    response = add(admin_client, kind, **{"name": "Fuzzed", field: value})
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 400:
        assert database_snapshot() == before


def test_a_parameter_value_is_a_password_input_never_shown_again_after_an_error(
    admin_client: Client,
) -> None:
    typed = "typed-Plain-Api-Key-9"
    rows = [{"key": "X-Api-Key", "value": typed, "send_as": "header"}]
    response = add(admin_client, "oauth2-client-credentials", client_id="", **management(rows))
    assert response.status_code == 400  # Client ID is missing
    page = response.content.decode()
    assert typed not in page
    assert 'type="password" name="param-0-value"' in page
    assert 'value="X-Api-Key"' in page  # the key is no secret: kept for the retry
