"""Hostile input, third round (issue 17), on the site: each cause of a 500 found then, kept
as a regression case, answered with a clear 4xx that changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import database_snapshot


@pytest.mark.parametrize("username", ["u" * 256, "u" * 10_000, "ada\x00", "ada\nx"])
def test_a_sign_in_with_a_user_name_no_account_can_have_is_refused_plainly(
    db: None, username: str
) -> None:
    before = database_snapshot()
    response = Client().post(reverse("login"), {"username": username, "password": "x"})
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()
    assert database_snapshot() == before


def custom_parameter(admin_client: Client, key: str, value: str, part: str) -> object:
    from tests.securitymaterial.test_other_types_pages import add, management

    rows = [{"key": key, "value": value, "send_as": part}]
    return add(admin_client, "oauth2-client-credentials", **management(rows))


@pytest.mark.parametrize(
    ("key", "value", "part", "message"),
    [
        # 3: a header value outside Latin-1 was saved, then every token request a 500.
        ("X-Api-Key", "\U0001f511", "header", "only printable ASCII characters"),
        ("X-Api-Key", "\u5bc6", "header", "only printable ASCII characters"),
        # 12: a leading space made the request fail as "could not be reached", forever.
        ("X-Api-Key", " key", "header", "Remove the spaces at the start or end"),
        ("X-Api-Key", "key ", "header", "Remove the spaces at the start or end"),
        # 11: framing and hop-by-hop headers, headers the service sets, and parameters with
        # a field of their own changed the request silently.
        ("Transfer-Encoding", "chunked", "header", "set by the service or by HTTP itself"),
        ("Connection", "close", "header", "set by the service or by HTTP itself"),
        ("Accept", "text/html", "header", "set by the service or by HTTP itself"),
        ("User-Agent", "x", "header", "set by the service or by HTTP itself"),
        ("scope", "admin", "body", "scope has a field of its own: enter it in Scope."),
        ("Resource", "x", "url", "has a field of its own: enter it in Resource."),
        ("audience", "x", "body", "has a field of its own: enter it in Audience."),
        # Messages: a key's own words, and one message for one fault.
        ("bad key", "v", "body", "in a key."),
    ],
)
def test_custom_parameters_that_would_break_or_bend_the_request_are_refused(
    admin_client: Client, key: str, value: str, part: str, message: str
) -> None:
    before = database_snapshot()
    response = custom_parameter(admin_client, key, value, part)
    assert response.status_code == 400  # type: ignore[attr-defined]
    page = response.content.decode()  # type: ignore[attr-defined]
    assert message in page
    assert "Integrations find the artifact" not in page
    assert "Enter a key for this value" not in page
    assert database_snapshot() == before


def test_a_stored_header_value_http_cannot_carry_fails_with_a_reason_not_a_500(
    db: None,
) -> None:
    """A row written past the form (an older version, a restore): the fetch records a
    configuration error, and consumers are not sent to the provider again and again."""
    from securitymaterial.models import ErrorKind, OAuth2ClientCredentials
    from tests.oauthflows.test_client_credentials import fetched

    artifact = OAuth2ClientCredentials.objects.create(
        name="Cc_Bad_Header",
        token_service_url="https://auth.example.com/t",
        client_id="c",
        client_secret="s",
        custom_parameters_json='[{"key": "X-K", "value": "\\u5bc6", "send_as": "header"}]',
    )
    failed = fetched(artifact.pk)
    assert failed.error_kind == ErrorKind.CONFIGURATION
    assert "X-K has a value HTTP cannot carry" in failed.status_reason


@pytest.mark.parametrize("name", [".", "..", "...", "." * 100])
def test_a_name_of_dots_alone_is_refused_for_artifacts_and_api_tokens(
    admin_client: Client, name: str
) -> None:
    from tests.securitymaterial.test_other_types_pages import add

    before = database_snapshot()
    response = add(admin_client, "secure-parameter", name=name)
    assert response.status_code == 400
    assert "a name of dots alone cannot be used in a URL" in response.content.decode()
    assert database_snapshot() == before
    from api.models import ApiToken

    with pytest.raises(Exception, match="dots alone"):
        ApiToken.new_name(name)


@pytest.fixture
def superuser_client(db: None) -> Client:
    from django.contrib.auth.models import User

    client = Client()
    client.force_login(User.objects.create_superuser("root", "r@example.com", "pw"))
    return client


@pytest.mark.parametrize(
    "query",
    [{"q": "\x00"}, {"action__exact": "\x00"}, {"runtime__exact": "cloud\x00"}, {"\x00": "x"}],
)
def test_a_nul_in_an_admin_filter_is_a_400(superuser_client: Client, query: dict) -> None:
    response = superuser_client.get("/admin/securitymaterial/auditentry/", query)
    assert response.status_code == 400
    assert "Remove the NUL character" in response.content.decode()


@pytest.mark.parametrize("ids", [["abc"], ["1", "x"], ["\u0661"]])
def test_a_bulk_action_on_ids_that_are_no_numbers_is_a_400_and_deletes_nothing(
    superuser_client: Client, make_artifact: object, ids: list[str]
) -> None:
    make_artifact()  # type: ignore[operator]
    before = database_snapshot()
    response = superuser_client.post(
        "/admin/securitymaterial/artifact/",
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert response.status_code == 400
    assert "the id of a row is a number" in response.content.decode()
    assert database_snapshot() == before


NOT_ASCII_DIGITS = ["3_0", "+30", " 30 ", "30.0", "\u0663\u0660", "\uff13\uff10", "1e2"]


@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
def test_whole_numbers_are_ascii_digits_only_everywhere(
    admin_client: Client, make_artifact: object, value: str
) -> None:
    from tests.conftest import valid_form_data

    add = admin_client.post(
        reverse("securitymaterial:add", args=["oauth2-authorization-code"]),
        valid_form_data(refresh_token_expiry_days=value),
    )
    assert add.status_code == 400
    assert "Enter a whole number of days in digits 0 to 9." in add.content.decode()
    port = admin_client.post(
        "/monitor/integrations/connectivity-tests/?tab=smtp",
        {
            "host": "127.0.0.1",
            "port": value,
            "protection": "none",
            "authentication": "oauth2-authorization-code",
        },
    )
    assert port.status_code == 400
    assert "port" in port.context["form"].errors
    from api.models import ApiToken

    secret = ApiToken.create("digits")[1]
    api = Client().get(
        "/api/v1/security-material/Generic_App/access-token",
        {"min_valid_seconds": value},
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert api.status_code == 400
    assert "digits 0 to 9" in api.json()["detail"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"param-TOTAL_FORMS": "-1"}, "sent with a negative row count"),
        ({"param-INITIAL_FORMS": "-5"}, "sent with a negative row count"),
        ({"param-TOTAL_FORMS": None}, "was not sent whole"),
    ],
)
def test_a_parameter_table_sent_broken_says_so_and_deploys_nothing(
    admin_client: Client, changes: dict, message: str
) -> None:
    from tests.securitymaterial.test_other_types_pages import FORMS

    data = {**FORMS["oauth2-client-credentials"], **changes}
    data = {key: value for key, value in data.items() if value is not None}
    before = database_snapshot()
    response = admin_client.post(
        reverse("securitymaterial:add", args=["oauth2-client-credentials"]), data
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and "file a bug report" not in page
    assert database_snapshot() == before


def test_a_nul_gets_one_message(admin_client: Client) -> None:
    from tests.securitymaterial.test_other_types_pages import add

    response = add(admin_client, "user-credentials", user="erp\x00")
    errors = response.context["form"].errors["user"]
    assert errors == ["Null characters are not allowed."]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/accounts/logout/"),
        ("get", "/monitor/integrations/security-material/{pk}/authorize/"),
        ("post", "/oauth2/callback/"),
        ("delete", "/monitor/integrations/api-tokens/"),
        ("put", "/monitor/integrations/connectivity-tests/"),
    ],
)
def test_a_method_a_page_does_not_take_gets_a_page_that_says_what_to_do(
    admin_client: Client, make_artifact: object, method: str, path: str
) -> None:
    from django.contrib.auth.models import Permission

    artifact = make_artifact()  # type: ignore[operator]
    user = artifact.deployed_by
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="api"))
    before = database_snapshot()
    response = getattr(admin_client, method)(path.format(pk=artifact.pk))
    assert response.status_code == 405
    assert response["Allow"]
    assert "This address is not for that" in response.content.decode()
    assert database_snapshot() == before


@pytest.fixture
def service_log() -> object:
    """What the service's own console handler writes (its filters included)."""
    import io
    import logging

    from config.logs import ClientErrorsInOneLine

    [handler] = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, ClientErrorsInOneLine) for f in h.filters)
    ]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    old = handler.setStream(stream)
    yield stream
    handler.setStream(old)


def test_a_clients_errors_are_one_warning_line_each_and_a_fault_an_error(
    admin_client: Client, service_log: object, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from securitymaterial import services

    assert isinstance(service_log, io.StringIO)
    admin_client.get(reverse("securitymaterial:list"), {"page": "x"})  # 400
    Client().get("/api/v1/security-material/X/access-token")  # 401
    from api.models import ApiToken

    manager = Client(HTTP_AUTHORIZATION=f"Bearer {ApiToken.create('m', can_manage=True)[1]}")
    too_large = manager.post(
        "/api/v1/manage/secure-parameter", "x" * 3_000_000, content_type="application/json"
    )
    assert too_large.status_code == 400
    reader = Client()
    from django.contrib.auth.models import User

    reader.force_login(User.objects.create_user("nobody", "n@example.com", "pw"))
    reader.get(reverse("securitymaterial:list"))  # 403
    client_errors = service_log.getvalue()
    assert "Traceback" not in client_errors
    assert " ERROR " not in client_errors
    assert client_errors.count("\n") >= 3

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a real fault")

    monkeypatch.setattr(services, "delete", fail)
    artifact_client = Client(raise_request_exception=False)
    artifact_client.force_login(User.objects.get(username="ada"))
    from securitymaterial.models import SecureParameter

    parameter = SecureParameter.objects.create(name="P", value="v")
    artifact_client.post(reverse("securitymaterial:delete", args=[parameter.pk]))
    fault = service_log.getvalue()[len(client_errors) :]
    assert " ERROR " in fault and "Traceback" in fault and "a real fault" in fault
