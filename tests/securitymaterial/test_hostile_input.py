"""Hostile input (hypothesis): the form, the list's URL parameters and the callback's query
answer with a 4xx and a message, never a 500, and a refused request changes nothing."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from securitymaterial import validators
from securitymaterial.models import OAuth2AuthorizationCode
from tests.conftest import database_snapshot, fuzz_examples, valid_form_data

ADD_URL = reverse("securitymaterial:add", args=["oauth2-authorization-code"])
LIST_URL = reverse("securitymaterial:list")
CALLBACK = reverse("oauthflows:callback")
FUZZ = settings(
    max_examples=fuzz_examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# Anything a browser can send: every character but lone surrogates, some of them hostile.
TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=300) | st.sampled_from(
    [
        "",
        " ",
        "²",
        "①",
        "\u202e",
        "\ufeff",
        "\u2028",
        "\x85",
        "\x00",
        "%00",
        "\uff48\uff54\uff54\uff50\uff53://x",
        "https://[v1.fe]/",
        "https://host\\@evil/",
        "https://a.example.com:0/",
        "9" * 5000,
        "https://\u3002example\u3002com/",
        "javascript:alert(1)",
        "../../etc/passwd",
    ]
)
FIELDS = list(valid_form_data())
# Numbers as people and other scripts write them: superscripts, circled, Arabic-Indic, huge.
NUMBERISH = st.text(
    alphabet=st.characters(whitelist_categories=["Nd", "No", "Nl"]), min_size=1, max_size=6
) | st.integers(min_value=-(10**30), max_value=10**30).map(str)


@FUZZ
@given(st.sampled_from(FIELDS), TEXT)
def test_any_value_in_any_form_field_is_refused_or_deployed_never_a_500(
    admin_client: Client, field: str, value: str
) -> None:
    before = database_snapshot()
    response = admin_client.post(ADD_URL, valid_form_data(**{"name": "Fuzzed", field: value}))
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 400:
        assert database_snapshot() == before


@FUZZ
@given(st.sampled_from(FIELDS), TEXT)
def test_any_value_in_any_field_of_an_edit_is_refused_or_saved_never_a_500(
    admin_client: Client, make_artifact: Any, field: str, value: str
) -> None:
    from tests.securitymaterial.test_edit_view import edit_data

    artifact = OAuth2AuthorizationCode.objects.filter(name="Edited").first() or make_artifact(
        name="Edited",
        provider="microsoft365",
        tenant="contoso.onmicrosoft.com",
        refresh_token_expiry_days=90,
    )
    before = database_snapshot()
    url = reverse("securitymaterial:edit", args=[artifact.pk])
    response = admin_client.post(url, edit_data(artifact, **{field: value}))
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 400:
        assert database_snapshot() == before


MOMENTS = [  # a day's offset moves the first and last moments out of range
    *("2026-12-05T10:00:00+00:00", "2026-12-05T10:00:00+23:59"),
    *("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"),
]


@FUZZ
@given(
    st.sampled_from(["name", "-type", "status", "-deployed_by", "deployed_on", "-deployed_on"]),
    st.dictionaries(
        st.sampled_from(["after", "after_name", "before", "before_name", "last", "at"]),
        TEXT
        | NUMBERISH
        | st.sampled_from(["2026-12-05T10:00:00+00:00", "9999-12-31T23:59:59+23:59"]),
        max_size=6,
    ),
)
def test_any_page_key_is_answered_without_a_500_and_changes_nothing(
    admin_client: Client, make_artifact: Any, sort: str, keys: dict[str, str]
) -> None:
    """The keys of the list's page links (securitymaterial.listing), as anyone may edit them."""
    if not OAuth2AuthorizationCode.objects.exists():
        make_artifact(name="Keyed")
    before = database_snapshot()
    assert admin_client.get(LIST_URL, {"sort": sort, **keys}).status_code in (200, 400)
    assert database_snapshot() == before


@FUZZ
@given(st.sampled_from(["page", "sort", "q", "runtime"]), TEXT | NUMBERISH, TEXT | NUMBERISH)
def test_any_list_parameter_is_answered_without_a_500(
    admin_client: Client, name: str, value: str, other: str
) -> None:
    # One hostile parameter at a time (a bad runtime is refused before the page is read),
    # then the same one repeated with another value (Django reads the last).
    assert admin_client.get(LIST_URL, {name: value}).status_code in (200, 400)
    assert admin_client.get(LIST_URL, {name: [value, other]}).status_code in (200, 400)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["code", "state", "error", "error_description", "trace_id"]),
        TEXT,
        max_size=5,
    )
)
def test_any_callback_query_is_answered_without_a_500_and_changes_nothing(
    admin_client: Client, params: dict[str, str]
) -> None:
    before = database_snapshot()
    assert admin_client.get(CALLBACK, params).status_code in (400, 403)
    assert database_snapshot() == before


@settings(max_examples=fuzz_examples(2000), deadline=None)
@given(TEXT)
def test_the_url_rule_raises_nothing_but_a_validation_error(value: Any) -> None:
    try:
        validators.validate_endpoint_url(value)
    except ValidationError as error:
        assert error.messages and all(len(message) < 400 for message in error.messages)


@FUZZ
@given(
    name=TEXT | st.sampled_from(["Fuzzed_App", "fuzzed_app"]),
    runtime=TEXT | st.sampled_from(["cloud", "edge"]),
    min_valid=TEXT | NUMBERISH,
    authorization=TEXT | st.sampled_from(["valid", "valid", "Bearer smt_x", "Basic abc"]),
)
def test_any_access_token_request_is_answered_in_json_without_a_500(
    make_artifact: Any, name: str, runtime: str, min_valid: str, authorization: str
) -> None:
    from urllib.parse import quote

    from api.models import ApiToken

    if not ApiToken.objects.exists():
        make_artifact(name="Fuzzed_App")  # never authorized: the best answer is a 409
        _, secret = ApiToken.create("fuzzer")
        ApiToken.objects.filter(name="fuzzer").update(name=secret)  # remember it (test only)
    secret = ApiToken.objects.get().name
    header = f"Bearer {secret}" if authorization == "valid" else authorization
    before = database_snapshot()
    response = Client().get(
        f"/api/v1/security-material/{quote(name, safe='')}/access-token",
        {"runtime": runtime, "min_valid_seconds": min_valid},
        HTTP_AUTHORIZATION=header.replace("\n", " ").replace("\r", " "),
    )
    assert response.status_code in (400, 401, 403, 404, 409), response.status_code
    if response.status_code != 404:
        assert "detail" in response.json()
    assert database_snapshot() == before
