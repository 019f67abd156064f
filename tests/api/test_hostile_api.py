"""Hostile input, third round (issue 17), on the API: each cause of a 500 found then, kept
as a regression case; every answer a documented JSON 4xx that says what to change, and a
refused request changes nothing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from api.models import ApiToken
from securitymaterial.models import SecureParameter
from tests.conftest import database_snapshot, fuzz_examples

BASE = "/api/v1/manage"


@pytest.fixture
def manager(db: None) -> Client:
    _, secret = ApiToken.create("provisioning", can_manage=True)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def post(client: Client, path: str, body: bytes | str) -> object:
    return client.post(BASE + path, body, content_type="application/json")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"name": "Key_1", "value": "v", "description": "\\ud800"}', "lone surrogate"),
        ('{"name": "Key_1", "value": "\\udfff"}', "lone surrogate"),
        (b'{"name": "Key_1", "value": "\xff"}', "it is not UTF-8 (byte 28 cannot be decoded)"),
        ('{"name": "Key_1", "value": "v"} trailing', "extra data at line 1, column 33"),
        ('{"name": "Key_1", "value": "v"', "expecting"),
        ("[" * 100_000 + "]" * 100_000, "nested more than 20 levels"),
        (
            '{"name": "Key_1", "value": "v", "description": ' + "[" * 30 + "]" * 30 + "}",
            "nested more than 20 levels",
        ),
    ],
)
def test_a_body_that_is_not_json_we_can_take_is_a_400_saying_why(
    manager: Client, body: bytes | str, reason: str
) -> None:
    before = database_snapshot()
    response = post(manager, "/secure-parameter", body)
    assert response.status_code == 400  # type: ignore[attr-defined]
    detail = response.json()["detail"]  # type: ignore[attr-defined]
    assert detail.startswith("The request body is not the JSON this operation takes: ")
    assert reason in detail
    assert database_snapshot() == before
    assert not SecureParameter.objects.exists()


def test_a_valid_body_still_creates(manager: Client) -> None:
    body = json.dumps({"name": "Key_1", "value": "v", "description": "ok \u00e9"})
    assert post(manager, "/secure-parameter", body).status_code == 201  # type: ignore[attr-defined]


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_a_name_longer_than_any_artifact_can_have_finds_nothing_not_a_neighbour(
    manager: Client, method: str
) -> None:
    """Names were cut to 150: DELETE …/<150 characters>-typo deleted the artifact named by
    the first 150."""
    name = "K" * 150
    SecureParameter.objects.create(name=name, value="v")
    before = database_snapshot()
    body = json.dumps({"description": "changed"}) if method == "put" else None
    response = getattr(manager, method)(
        f"{BASE}/secure-parameter/{name}-typo", body, content_type="application/json"
    )
    assert response.status_code == 404
    assert database_snapshot() == before
    consumer = ApiToken.create("reader")[1]
    read = Client().get(
        f"/api/v1/security-material/{name}-typo", HTTP_AUTHORIZATION=f"Bearer {consumer}"
    )
    assert read.status_code == 404
    assert len(read.json()["detail"]) < 120  # the name quoted, cut


def test_a_change_of_name_is_refused_not_ignored(manager: Client) -> None:
    SecureParameter.objects.create(name="Key_1", value="v")
    before = database_snapshot()
    response = manager.put(
        f"{BASE}/secure-parameter/Key_1",
        json.dumps({"name": "Key_2"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"]["name"] == [
        "The name cannot be changed: integrations find the artifact by it."
    ]
    assert database_snapshot() == before


def test_control_and_direction_characters_from_the_path_are_not_echoed(db: None) -> None:
    consumer = ApiToken.create("reader")[1]
    response = Client().get(
        "/api/v1/security-material/evil%E2%80%AEgpj.exe%0Aforged",
        HTTP_AUTHORIZATION=f"Bearer {consumer}",
    )
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "\u202e" not in detail and "\n" not in detail


@pytest.mark.parametrize(
    ("method", "path", "status", "detail"),
    [
        ("get", "/api/v1/nothing-here", 404, "No API operation is at this path"),
        ("get", "/api/v1/", 404, "No API operation is at this path"),
        ("post", "/api/v1/openapi.json", 405, "does not take POST; it takes GET, HEAD"),
        ("delete", "/api/v1/security-material/X/access-token", 405, "does not take DELETE"),
        ("patch", "/api/v1/manage/secure-parameter/X", 405, "does not take PATCH"),
    ],
)
def test_everything_under_the_api_answers_json(
    manager: Client, method: str, path: str, status: int, detail: str
) -> None:
    body = None if method == "get" else "{}"
    response = getattr(manager, method)(path, body, content_type="application/json")
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert detail in response.json()["detail"]


def test_a_body_over_the_limit_is_a_json_400_saying_so(manager: Client, settings: object) -> None:
    big = json.dumps({"name": "Key_1", "value": "v", "description": "x" * 3_000_000})
    response = post(manager, "/secure-parameter", big)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "larger than the 2.5 MB this API reads" in response.json()["detail"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "header", ["Bearer  {t}", "Bearer\t{t}", "Token {t}", "{t}", "Bearer {t} x"]
)
def test_a_valid_token_in_a_malformed_header_is_told_so(db: None, header: str) -> None:
    secret = ApiToken.create("reader")[1]
    response = Client().get(
        "/api/v1/security-material/X/access-token",
        HTTP_AUTHORIZATION=header.format(t=secret),
    )
    assert response.status_code == 401
    assert response.json()["detail"].startswith("The Authorization header is malformed")


def test_an_unknown_token_is_told_so(db: None) -> None:
    response = Client().get(
        "/api/v1/security-material/X/access-token", HTTP_AUTHORIZATION="Bearer smt_unknown"
    )
    assert response.status_code == 401
    assert "missing, unknown or revoked" in response.json()["detail"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "two words"}, "the audit trail names the token by it"),
        ({"name": "ok", "artifacts": "Good, bad/name"}, "“bad/name” is not an artifact name"),
        ({"name": "ok", "artifacts": ",,,"}, "leave Artifacts blank to allow all of them"),
        ({"name": "ok", "artifacts": "   "}, "leave Artifacts blank to allow all of them"),
    ],
)
def test_the_api_tokens_page_says_what_to_change(
    db: None, data: dict[str, str], message: str
) -> None:
    from tests.api.test_tokens_page import PAGE, client_with

    page = client_with("view_apitoken", "add_apitoken")
    response = page.post(PAGE, {**data, "can_consume": "on"})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "Integrations find the artifact" not in html
    assert not ApiToken.objects.exists()
    as_json = page.post(PAGE, json.dumps(data), content_type="application/json")
    assert as_json.status_code == 400
    assert "Send the form as application/x-www-form-urlencoded" in as_json.content.decode()


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

KINDS = [
    "user-credentials",
    "secure-parameter",
    "oauth2-client-credentials",
    "oauth2-authorization-code",
]
HOSTILE_TEXT = st.text(max_size=40) | st.sampled_from(
    ["\ud800", "a\udfffb", "\x00", "x\x00y", "\u202e", "\ufeff", "9" * 5000, "", " "]
)
HOSTILE_NUMBER = st.sampled_from([10**400, -(10**400), 1e308, 1e30, -1, 0, 2**63, 3.5])
HOSTILE_VALUE = st.recursive(
    st.none() | st.booleans() | HOSTILE_TEXT | HOSTILE_NUMBER,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner, max_size=3),
    max_leaves=8,
)
FIELD = st.sampled_from(
    [
        "name",
        "description",
        "value",
        "user",
        "password",
        "token_service_url",
        "client_id",
        "client_secret",
        "scope",
        "custom_parameters",
        "refresh_token_expiry_days",
        "tenant",
        "provider",
        "use_pkce",
        "send_as",
    ]
)


def _dumps(body: object) -> str:
    import math

    def default(value: object) -> object:
        raise TypeError(value)

    text = json.dumps(body, default=default, allow_nan=True)
    assert not isinstance(body, float) or not math.isnan(body)
    return text


@settings(
    max_examples=fuzz_examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.sampled_from(KINDS),
    st.sampled_from(["post", "put"]),
    st.dictionaries(FIELD, HOSTILE_VALUE, max_size=5),
    st.integers(min_value=0, max_value=60),
)
def test_hostile_bodies_with_surrogates_nuls_huge_numbers_and_nesting_never_a_500(
    manager: Client, kind: str, method: str, body: dict, depth: int
) -> None:
    SecureParameter.objects.get_or_create(name="Existing", defaults={"value": "v"})
    nested: object = body
    for _ in range(depth):
        nested = {"description": nested} if depth % 2 else [nested]
    path = f"{BASE}/{kind}" + ("/Existing" if method == "put" else "")
    before = database_snapshot()
    response = getattr(manager, method)(path, _dumps(nested), content_type="application/json")
    assert response.status_code in (200, 201, 400, 403, 404, 409), response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    if response.status_code >= 400:
        assert response.json()["detail"]
        assert database_snapshot() == before
