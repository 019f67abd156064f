"""Adding an OAuth2 Authorization Code: every rule, and bad input that stores nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode, Status
from tests.conftest import CLIENT_SECRET, database_snapshot, valid_form_data

ADD_URL = reverse("securitymaterial:add", args=["oauth2-authorization-code"])


def post(client: Client, runtime: str = "cloud", **overrides: Any) -> Any:
    return client.post(f"{ADD_URL}?runtime={runtime}", valid_form_data(**overrides))


def field_errors(response: Any, field: str) -> list[str]:
    return list(response.context["form"].errors.get(field, []))


def test_the_form_shows_every_documented_attribute_and_the_redirect_url(
    admin_client: Client, settings: Any
) -> None:
    response = admin_client.get(ADD_URL)
    html = response.content.decode()
    for label in (
        "Name",
        "Description",
        "Provider",
        "Tenant",
        "Authorization URL",
        "Token Service URL",
        "Refresh Token Expiry",
        "Redirect URL",
        "Client ID",
        "Client Secret",
        "Send As",
        "User Name",
        "Scope",
    ):
        assert f">{label}" in html.replace("\n", "").replace("  ", ""), label
    assert 'value="http://127.0.0.1:8000/oauth2/callback/" readonly' in html
    assert ">Deploy</button>" in html
    assert ">Cancel</a>" in html
    assert "https://outlook.office.com/SMTP.Send" in html
    assert "https://outlook.office.com/IMAP.AccessAsUser.All" in html


def test_the_redirect_url_comes_from_public_base_url_not_the_host_header(
    admin_client: Client, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = "https://sm.example.com"
    settings.ALLOWED_HOSTS = ["evil.example.net", "sm.example.com"]
    html = admin_client.get(ADD_URL, HTTP_HOST="evil.example.net").content.decode()
    assert "https://sm.example.com/oauth2/callback/" in html
    assert "evil.example.net/oauth2" not in html


def test_it_deploys_a_microsoft_365_artifact_filled_from_the_tenant(
    admin_client: Client, admin_user: Any
) -> None:
    response = post(admin_client)
    assert response.status_code == 302
    assert response["Location"] == reverse("securitymaterial:list") + "?runtime=cloud"
    artifact = OAuth2AuthorizationCode.objects.get()
    assert artifact.name == "M365_Mailer"
    assert artifact.runtime == "cloud"
    assert artifact.status == Status.UNAUTHORIZED
    assert artifact.authorization_url == (
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
    )
    assert artifact.token_service_url == (
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    )
    assert artifact.scope == "https://outlook.office.com/SMTP.Send offline_access"
    assert artifact.client_secret == CLIENT_SECRET
    assert artifact.deployed_by == admin_user
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor_name, entry.artifact_name) == (
        "created",
        "ada",
        "M365_Mailer",
    )


def test_the_admin_is_told_that_offline_access_was_added(admin_client: Client) -> None:
    response = admin_client.post(f"{ADD_URL}?runtime=cloud", valid_form_data(), follow=True)
    text = response.content.decode()
    assert "offline_access was added to Scope" in text
    assert "Choose Authorize to sign in and consent" in text


def test_it_keeps_offline_access_once_when_the_admin_wrote_it(admin_client: Client) -> None:
    post(admin_client, scope="offline_access  https://outlook.office.com/IMAP.AccessAsUser.All")
    artifact = OAuth2AuthorizationCode.objects.get()
    assert artifact.scope == "offline_access https://outlook.office.com/IMAP.AccessAsUser.All"


def test_urls_written_by_the_admin_win_over_the_tenant(admin_client: Client) -> None:
    post(
        admin_client,
        authorization_url="https://login.microsoftonline.us/contoso.us/oauth2/v2.0/authorize",
        token_service_url="https://login.microsoftonline.us/contoso.us/oauth2/v2.0/token",
    )
    artifact = OAuth2AuthorizationCode.objects.get()
    assert artifact.authorization_url.startswith("https://login.microsoftonline.us/")
    assert artifact.token_service_url.startswith("https://login.microsoftonline.us/")


def test_it_deploys_a_generic_artifact_keeping_query_parameters_and_blank_expiry(
    admin_client: Client,
) -> None:
    response = post(
        admin_client,
        provider="generic",
        tenant="ignored.example.com",
        authorization_url="https://accounts.example.com/o/oauth2/auth?prompt=consent&access_type=offline",
        token_service_url="http://127.0.0.1:9000/token",
        refresh_token_expiry_days="",
        scope="",
        send_as="basic",
    )
    assert response.status_code == 302
    artifact = OAuth2AuthorizationCode.objects.get()
    assert artifact.authorization_url.endswith("?prompt=consent&access_type=offline")
    assert artifact.refresh_token_expiry_days is None
    assert artifact.tenant == ""
    assert artifact.scope == ""
    assert artifact.get_send_as_display() == "Basic Auth Header"


def test_the_same_name_may_exist_once_per_runtime(admin_client: Client) -> None:
    assert post(admin_client, runtime="cloud").status_code == 302
    assert post(admin_client, runtime="edge").status_code == 302
    assert OAuth2AuthorizationCode.objects.count() == 2


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "This field is required."),
        ("name", "x" * 151, "at most 150 characters"),
        ("name", "my mailer", "no spaces or slashes"),
        ("name", "mail/er", "no spaces or slashes"),
        ("description", "d" * 1001, "at most 1000 characters"),
        ("provider", "google", "Choose Microsoft 365 or Generic."),
        ("description", "invoices \u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        ("description", "bad \ufffd bytes", "not valid UTF-8"),
        ("tenant", "not a tenant!", "directory (tenant) ID"),
        ("authorization_url", "ftp://auth.example.com/authorize", "starts with https://"),
        ("authorization_url", "http://auth.example.com/authorize", "only allowed for localhost"),
        ("authorization_url", "https://auth.example.com/authorize#top", "Remove the fragment"),
        ("authorization_url", "https://user:pw@auth.example.com/authorize", "Remove the user name"),
        ("authorization_url", "authorize", "starts with https://"),
        ("token_service_url", "https://auth example.com/token", "without spaces"),
        ("token_service_url", "https://auth.example.com:99999/token", "Enter a valid URL"),
        ("token_service_url", "https://auth.example.com:0/token", "port from 1 to 65535"),
        ("token_service_url", "https://[v1.fe]/token", "write an IPv6 address"),
        ("token_service_url", "https://auth.example.com/\u202etoken", "Use only ASCII"),
        ("token_service_url", "https://auth\u3002example\u3002com/token", "Use only ASCII"),
        ("token_service_url", "https://auth.example.com\\@evil.example/", "backslash"),
        ("token_service_url", "https://auth_x.example.com/token", "not a valid host name"),
        ("refresh_token_expiry_days", "2", "For Microsoft 365, enter from 3 to 90 days."),
        ("refresh_token_expiry_days", "91", "from 3 to 90 days"),
        ("refresh_token_expiry_days", "5000", "For Microsoft 365, enter from 3 to 90 days."),
        ("refresh_token_expiry_days", "9" * 5000, "Enter a whole number of days in digits 0 to 9."),
        ("refresh_token_expiry_days", "abc", "Enter a whole number of days in digits 0 to 9."),
        ("refresh_token_expiry_days", "", "Enter a number of days from 3 to 90"),
        ("client_id", "", "This field is required."),
        ("client_secret", "", "This field is required."),
        ("send_as", "header", "Choose Body Parameter or Basic Auth Header."),
        ("client_id", "client\u0085id", "U+0085"),
        ("client_id", "client\u200bid", "U+200B (ZERO WIDTH SPACE)"),
        ("client_id", "\ufeffclient", "U+FEFF (ZERO WIDTH NO-BREAK SPACE)"),
        ("client_id", "client\u00a0id", "U+00A0 (NO-BREAK SPACE)"),
        ("client_id", "client\u2028id", "U+2028 (LINE SEPARATOR)"),
        ("client_id", "client\ufffd", "not valid UTF-8"),
        ("user_name", "mailer@contoso.com\u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        ("user_name", "mailer\u3000@contoso.com", "U+3000 (IDEOGRAPHIC SPACE)"),
        ("client_secret", "sec\u2029ret", "U+2029 (PARAGRAPH SEPARATOR)"),
        ("client_secret", "secret\u0090x", "U+0090"),
        ("client_secret", "sec\u200dret", "U+200D (ZERO WIDTH JOINER)"),
        ("scope", "openid,email", "not commas"),
        ("scope", "openid\temail", "control characters"),
        ("scope", 'openid "email"', "not a valid scope"),
        ("user_name", "two words", "Remove the spaces"),
    ],
)
def test_bad_input_gets_a_message_next_to_the_field_and_stores_nothing(
    admin_client: Client, field: str, value: str, message: str
) -> None:
    before = database_snapshot()
    response = post(admin_client, **{field: value})
    assert response.status_code == 400
    assert any(message in error for error in field_errors(response, field)), field_errors(
        response, field
    )
    assert message.split("“")[0] in response.content.decode().replace("&#x27;", "'")
    assert database_snapshot() == before


def test_a_microsoft_365_artifact_needs_the_tenant_or_both_urls(admin_client: Client) -> None:
    response = post(admin_client, tenant="")
    assert response.status_code == 400
    assert field_errors(response, "authorization_url") == [
        "Enter the URL, or enter the Tenant to fill it in."
    ]
    assert field_errors(response, "token_service_url") == [
        "Enter the URL, or enter the Tenant to fill it in."
    ]
    assert not OAuth2AuthorizationCode.objects.exists()


def test_a_generic_artifact_needs_both_urls(admin_client: Client) -> None:
    response = post(admin_client, provider="generic", tenant="")
    assert field_errors(response, "authorization_url") == ["Enter the URL."]
    assert field_errors(response, "token_service_url") == ["Enter the URL."]


@pytest.mark.parametrize("days", ["2", "0", "-1"])
def test_a_generic_refresh_token_expiry_is_at_least_three_days(
    admin_client: Client, days: str
) -> None:
    response = post(
        admin_client,
        provider="generic",
        authorization_url="https://a.example.com/auth",
        token_service_url="https://a.example.com/token",
        refresh_token_expiry_days=days,
    )
    assert response.status_code == 400
    assert field_errors(response, "refresh_token_expiry_days")
    assert not OAuth2AuthorizationCode.objects.exists()


@pytest.mark.parametrize(
    "url", ["http://localhost:8080/token", "http://127.0.0.1/token", "http://[::1]:9000/token"]
)
def test_plain_http_is_allowed_for_this_machine_only(admin_client: Client, url: str) -> None:
    assert post(admin_client, token_service_url=url).status_code == 302


def test_a_duplicate_name_in_the_runtime_is_rejected(
    admin_client: Client, make_artifact: Any
) -> None:
    make_artifact(name="M365_Mailer")
    before = database_snapshot()
    response = post(admin_client, name="m365_mailer")
    assert response.status_code == 400
    assert "already exists in Cloud Integration" in field_errors(response, "name")[0]
    assert database_snapshot() == before


def test_a_ten_megabyte_description_is_refused_with_a_4xx(admin_client: Client) -> None:
    before = database_snapshot()
    response = post(admin_client, description="x" * (10 * 1024 * 1024))
    assert response.status_code == 400
    page = response.content.decode()
    assert "larger than this service accepts" in page
    assert "Description" not in page
    assert database_snapshot() == before


def test_an_unknown_runtime_or_artifact_type_is_a_400(admin_client: Client) -> None:
    response = post(admin_client, runtime="mars")
    assert response.status_code == 400
    assert "Unknown runtime “mars”" in response.content.decode()
    response = admin_client.get(reverse("securitymaterial:add", args=["keystore"]))
    assert response.status_code == 400
    assert "Unknown artifact type" in response.content.decode()
    assert not OAuth2AuthorizationCode.objects.exists()


def test_a_post_without_csrf_token_is_refused(admin_user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(f"{ADD_URL}?runtime=cloud", valid_form_data())
    assert response.status_code == 403
    assert "could not be verified" in response.content.decode()
    assert not OAuth2AuthorizationCode.objects.exists()


def test_an_anonymous_request_is_sent_to_the_login_page(db: None) -> None:
    response = Client().post(f"{ADD_URL}?runtime=cloud", valid_form_data())
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert not OAuth2AuthorizationCode.objects.exists()


@pytest.mark.parametrize("persona", ["reader_client", "outsider_client"])
def test_only_users_who_may_add_can_add(persona: str, request: Any) -> None:
    client: Client = request.getfixturevalue(persona)
    assert client.get(ADD_URL).status_code == 403
    assert post(client).status_code == 403
    assert not OAuth2AuthorizationCode.objects.exists()


def test_the_client_secret_is_never_rendered_back(admin_client: Client) -> None:
    response = post(admin_client, name="bad name")
    assert response.status_code == 400
    assert CLIENT_SECRET not in response.content.decode()


def test_a_name_taken_between_validation_and_save_is_a_field_error(
    admin_user: Any, make_artifact: Any
) -> None:
    from securitymaterial import services
    from securitymaterial.forms import OAuth2AuthorizationCodeForm

    form = OAuth2AuthorizationCodeForm(valid_form_data(name="Racy"), runtime="cloud")
    assert form.is_valid(), form.errors
    make_artifact(name="Racy")  # another admin deployed it a moment ago
    assert services.deploy_new(form, admin_user) is None
    assert "deployed a moment ago" in form.errors["name"][0]
    assert OAuth2AuthorizationCode.objects.filter(name="Racy").count() == 1
    assert not AuditEntry.objects.exists()


def test_a_bad_tenant_does_not_count_for_generic_where_the_row_is_hidden(
    admin_client: Client,
) -> None:
    response = post(
        admin_client,
        provider="generic",
        tenant="not a tenant!",
        authorization_url="https://a.example.com/auth",
        token_service_url="https://a.example.com/token",
    )
    assert response.status_code == 302
    assert OAuth2AuthorizationCode.objects.get().tenant == ""


def test_a_scope_too_long_once_offline_access_is_added_says_so(admin_client: Client) -> None:
    scope = "https://outlook.office.com/SMTP.Send " + "x" * (2000 - 37)
    assert len(scope) == 2000
    response = post(admin_client, scope=scope)
    assert response.status_code == 400
    [error] = field_errors(response, "scope")
    assert error == (
        "Scope holds up to 2000 characters including offline_access, which Microsoft 365 "
        "needs: shorten it by 15 characters."
    )
    assert not OAuth2AuthorizationCode.objects.exists()


def test_a_huge_provider_value_is_not_echoed_back(admin_client: Client) -> None:
    response = post(admin_client, provider="p" * (1024 * 1024))
    assert response.status_code == 400
    assert len(response.content) < 100_000
    assert field_errors(response, "provider") == ["Choose Microsoft 365 or Generic."]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/token",
        "http://localhost/token",
        "https://10.0.0.8/token",
        "https://192.168.1.1/token",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/token",
        "https://[::ffff:127.0.0.1]/token",
        "https://[fd00:ec2::254]/token",
        "https://100.64.0.1/token",
    ],
)
def test_internal_endpoints_are_refused_when_private_endpoints_are_not_allowed(
    admin_client: Client, settings: Any, url: str
) -> None:
    settings.ALLOW_PRIVATE_TOKEN_ENDPOINTS = False
    settings.ALLOW_LOOPBACK_TOKEN_ENDPOINTS = False
    response = post(admin_client, token_service_url=url)
    assert response.status_code == 400
    [error] = field_errors(response, "token_service_url")
    assert "points to an internal address" in error
    assert not OAuth2AuthorizationCode.objects.exists()


def test_public_endpoints_are_accepted_when_private_endpoints_are_not_allowed(
    admin_client: Client, settings: Any
) -> None:
    settings.ALLOW_PRIVATE_TOKEN_ENDPOINTS = False
    settings.ALLOW_LOOPBACK_TOKEN_ENDPOINTS = False
    assert post(admin_client, token_service_url="https://93.184.215.14/token").status_code == 302


def test_a_json_post_is_refused_with_a_message_not_a_blank_form(admin_client: Client) -> None:
    response = admin_client.post(ADD_URL, {"name": "x"}, content_type="application/json")
    assert response.status_code == 400
    assert "Send the form as application/x-www-form-urlencoded" in response.content.decode()
    assert not OAuth2AuthorizationCode.objects.exists()
