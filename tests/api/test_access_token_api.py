"""GET /api/v1/security-material/<name>/access-token: every answer, scoping and the audit."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any
from urllib.parse import quote

import pytest
import responses
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from api.models import ApiToken
from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode

URL = "/api/v1/security-material/{}/access-token"
TOKEN_URL = "https://auth.example.com/token"


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def get(secret: str, name: str = "Generic_App", **params: Any) -> Any:
    return Client().get(URL.format(name), params, **bearer(secret))


@responses.activate
def test_it_hands_out_a_valid_token_with_no_store_and_audits_the_issuance(
    deployed: OAuth2AuthorizationCode,
) -> None:
    _, secret = ApiToken.create("mailer")
    response = get(secret)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["access_token"] == "AT-live"
    assert body["token_type"] == "Bearer" and body["scope"] == "read"
    assert body["user_name"] == "mailer@example.com"
    assert body["expires_at"].endswith("Z") or body["expires_at"].endswith("+00:00")
    assert body["sasl_xoauth2"]
    entry = AuditEntry.objects.get(action="token_issued")
    assert entry.detail == "Issued to API token “mailer”"
    assert "AT-live" not in json.dumps(entry.changes) + entry.detail
    assert ApiToken.objects.get(name="mailer").last_used_at is not None


@responses.activate
def test_an_expiring_token_is_refreshed_on_demand(deployed: OAuth2AuthorizationCode) -> None:
    now = timezone.now()
    OAuth2AuthorizationCode.objects.filter(pk=deployed.pk).update(
        access_token_expires_at=now + timedelta(seconds=60),
        refresh_token_renewed_at=now - timedelta(minutes=59),
    )
    responses.post(
        TOKEN_URL, json={"access_token": "AT-new", "token_type": "Bearer", "expires_in": 3600}
    )
    _, secret = ApiToken.create("mailer")
    assert get(secret, min_valid_seconds=300).json()["access_token"] == "AT-new"
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    "header", ["", "Bearer ", "Bearer smt_unknown", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearer x"]
)
def test_a_missing_or_unknown_api_token_is_401(
    deployed: OAuth2AuthorizationCode, header: str
) -> None:
    response = Client().get(URL.format("Generic_App"), HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    detail = response.json()["detail"]
    malformed = header in ("Bearer ", "Basic YWxhZGRpbjpvcGVuc2VzYW1l")
    assert ("Authorization header is malformed" if malformed else "Send a valid API token") in (
        detail
    )
    assert "no-store" in response["Cache-Control"]


def test_a_revoked_api_token_is_401(deployed: OAuth2AuthorizationCode) -> None:
    token, secret = ApiToken.create("mailer")
    token.revoke()
    assert get(secret).status_code == 401
    assert AuditEntry.objects.filter(action="api_token_revoked").count() == 1


def test_a_signed_in_session_does_not_open_the_api(
    deployed: OAuth2AuthorizationCode, admin_client: Client
) -> None:
    assert admin_client.get(URL.format("Generic_App")).status_code == 401


def test_an_api_token_does_not_open_the_pages(deployed: OAuth2AuthorizationCode) -> None:
    _, secret = ApiToken.create("mailer")
    response = Client().get("/monitor/integrations/security-material/", **bearer(secret))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_token_limited_to_other_artifacts_or_another_runtime_is_403(
    deployed: OAuth2AuthorizationCode,
) -> None:
    _, other_artifact = ApiToken.create("other", artifact_names=["Someone_Else"])
    _, other_runtime = ApiToken.create("edge", runtime="edge")
    _, allowed = ApiToken.create("allowed", runtime="cloud", artifact_names=["generic_app"])
    assert get(other_artifact).status_code == 403
    assert get(other_runtime).status_code == 403
    assert get(allowed).status_code == 200
    # A limited token cannot tell unknown names from names it may not use.
    assert get(other_artifact, name="Does_Not_Exist").status_code == 403


def test_an_unknown_name_is_404(deployed: OAuth2AuthorizationCode) -> None:
    _, secret = ApiToken.create("mailer")
    response = get(secret, name="Nope")
    assert response.status_code == 404
    assert "No artifact is named “Nope”" in response.json()["detail"]


def test_an_unauthorized_artifact_is_409_saying_what_to_do(make_artifact: Any) -> None:
    make_artifact()
    _, secret = ApiToken.create("mailer")
    response = get(secret)
    assert response.status_code == 409
    assert "an admin must choose Authorize" in response.json()["detail"]


@responses.activate
def test_an_unreachable_provider_without_a_valid_token_is_503_with_retry_after(
    deployed: OAuth2AuthorizationCode,
) -> None:
    OAuth2AuthorizationCode.objects.filter(pk=deployed.pk).update(
        access_token_expires_at=timezone.now() - timedelta(seconds=5)
    )
    responses.post(TOKEN_URL, status=503, headers={"Retry-After": "90"})
    _, secret = ApiToken.create("mailer")
    response = get(secret)
    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 90
    assert "AT-live" not in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"runtime": "moon"},
        {"min_valid_seconds": "-1"},
        {"min_valid_seconds": "²"},
        {"min_valid_seconds": "9" * 5000},
        {"min_valid_seconds": "86401"},
    ],
)
def test_bad_parameters_are_400_with_a_message(
    deployed: OAuth2AuthorizationCode, params: dict[str, str]
) -> None:
    _, secret = ApiToken.create("mailer")
    response = get(secret, **params)
    assert response.status_code == 400
    assert response.json()["detail"]


def test_create_api_token_prints_the_token_alone_on_the_last_line(db: None) -> None:
    out = StringIO()
    call_command(
        "create_api_token", "cli-made", "--artifact", "Generic_App", stdout=out, stderr=StringIO()
    )
    secret = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.authenticate(secret)
    assert token is not None and token.artifact_names == ["Generic_App"]
    assert secret not in str(ApiToken.objects.values_list())  # only its keyed hash is stored


def test_the_openapi_description_is_valid_openapi_3_1(db: None) -> None:
    from openapi_spec_validator import validate

    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.1")
    validate(spec)
    operation = spec["paths"]["/api/v1/security-material/{name}/access-token"]["get"]
    assert {"200", "401", "403", "404", "409", "503"} <= set(operation["responses"])


def test_the_rendered_description_is_a_page_for_signed_in_users(admin_client: Client) -> None:
    assert Client().get("/api/v1/docs").status_code == 302
    response = admin_client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<code>GET /api/v1/security-material/{name}/access-token</code>" in page
    assert "<code>min_valid_seconds</code>" in page and "from 0 to 86400" in page
    assert 'href="#schema-AccessToken"' in page and "<code>sasl_xoauth2</code>" in page
    assert "<script" not in page.replace('<script src="/static/', "")  # no JS, no CDN


@responses.activate
def test_no_token_reaches_the_log(
    deployed: OAuth2AuthorizationCode, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    OAuth2AuthorizationCode.objects.filter(pk=deployed.pk).update(
        access_token_expires_at=timezone.now() + timedelta(seconds=30),
        refresh_token_renewed_at=timezone.now() - timedelta(hours=1),
    )
    fresh = {
        "access_token": "AT-fresh-7f3a",
        "token_type": "Bearer",
        "expires_in": 3600,
        "refresh_token": "RT-fresh-91c2",
    }
    responses.post(TOKEN_URL, json=fresh)
    _, secret = ApiToken.create("mailer")
    assert get(secret).status_code == 200
    assert get(secret + "x").status_code == 401
    assert caplog.records
    for value in (secret, "AT-fresh-7f3a", "RT-fresh-91c2", "AT-live", "RT-1"):
        assert value not in caplog.text


@pytest.mark.parametrize("name", ["a\x00b", "\x00", "a b", "ü"])
@pytest.mark.parametrize("path", ["{}/access-token", "{}"])
def test_a_name_no_artifact_can_have_is_404_on_every_database(
    deployed: OAuth2AuthorizationCode, name: str, path: str
) -> None:
    """PostgreSQL refuses a NUL in text with an error: it must not be asked (a 500 before)."""
    _, secret = ApiToken.create("consumer")
    url = "/api/v1/security-material/" + path.format(quote(name, safe=""))
    response = Client().get(url, **bearer(secret))
    assert response.status_code == 404, response.content
    assert "No artifact is named" in response.json()["detail"]
