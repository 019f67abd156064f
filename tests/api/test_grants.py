"""What an API token may do: consume and manage are separate grants chosen at creation; a
name limit is an exact name (in any case), never a part of one; the token is stored as a
hash keyed with DJANGO_SECRET_KEY; token names are unique after NFKC in any case."""

from __future__ import annotations

import hashlib
import hmac
import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from api.models import ApiToken, token_hash
from securitymaterial.models import OAuth2AuthorizationCode, SecureParameter
from tests.api.test_tokens_page import PAGE, client_with
from tests.conftest import database_snapshot

ACCESS = "/api/v1/security-material/{}/access-token"
SECRET = "/api/v1/security-material/{}"
MANAGE = "/api/v1/manage"


def bearer(secret: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def artifacts(make_artifact: Any) -> None:
    make_artifact(name="Generic")
    SecureParameter.objects.create(name="Generic_Key", value="sp-Plain-1")


def test_a_manage_only_token_reads_no_token_and_no_secret(artifacts: None) -> None:
    _, secret = ApiToken.create("provisioning", can_consume=False, can_manage=True)
    client = bearer(secret)
    for url in (ACCESS.format("Generic"), SECRET.format("Generic_Key")):
        response = client.get(url)
        assert response.status_code == 403
        assert "may manage artifacts but not fetch" in response.json()["detail"]
    assert client.get(f"{MANAGE}/security-material").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/security-material"),
        ("get", "/oauth2-authorization-code/Generic"),
        ("get", "/secure-parameter/Generic_Key"),
        ("put", "/secure-parameter/Generic_Key"),
        ("delete", "/secure-parameter/Generic_Key"),
        ("post", "/secure-parameter"),
    ],
)
def test_a_consume_only_token_manages_nothing_not_even_a_read(
    artifacts: None, method: str, path: str
) -> None:
    _, secret = ApiToken.create("integration")
    before = database_snapshot()
    body = json.dumps({"name": "New_Key", "value": "v"}) if method in ("put", "post") else None
    response = getattr(bearer(secret), method)(MANAGE + path, body, content_type="application/json")
    assert response.status_code == 403
    assert "may not manage" in response.json()["detail"]
    assert database_snapshot() == before


def test_a_name_limit_is_the_whole_name_never_a_part(artifacts: None) -> None:
    _, secret = ApiToken.create(
        "limited", can_manage=True, artifact_names=["Generic_App", "Generic_Key_2"]
    )
    client = bearer(secret)
    assert client.get(ACCESS.format("Generic")).status_code == 403
    assert client.get(SECRET.format("Generic_Key")).status_code == 403
    assert client.get(f"{MANAGE}/oauth2-authorization-code/Generic").status_code == 403
    assert client.get(f"{MANAGE}/security-material").json() == []


def test_the_management_list_shows_only_the_names_the_token_may_use(artifacts: None) -> None:
    _, secret = ApiToken.create("limited", can_manage=True, artifact_names=["GENERIC_KEY"])
    listed = bearer(secret).get(f"{MANAGE}/security-material").json()
    assert [entry["name"] for entry in listed] == ["Generic_Key"]


def test_the_stored_hash_is_keyed_with_the_django_secret_key(db: None, settings: Any) -> None:
    settings.SECRET_KEY = "k" * 50
    key = hmac.new(b"k" * 50, b"api-token", hashlib.sha256).digest()
    assert token_hash("smt_x") == hmac.new(key, b"smt_x", hashlib.sha256).hexdigest()
    _, secret = ApiToken.create("integration")
    assert ApiToken.authenticate(secret) is not None
    settings.SECRET_KEY = "r" * 50  # rotated: every API token stops working, as promised
    assert ApiToken.authenticate(secret) is None


def test_the_page_creates_each_grant_and_shows_it(db: None) -> None:
    page = client_with("view_apitoken", "add_apitoken", "delete_apitoken")
    page.post(PAGE, {"name": "integration", "can_consume": "on"})
    page.post(PAGE, {"name": "provisioning", "can_manage": "on"})
    page.post(PAGE, {"name": "both", "can_consume": "on", "can_manage": "on"})
    grants = {t.name: (t.can_consume, t.can_manage) for t in ApiToken.objects.all()}
    assert grants == {
        "integration": (True, False),
        "provisioning": (False, True),
        "both": (True, True),
    }
    listed = page.get(PAGE).content.decode()
    assert "<td>Fetches tokens and secrets</td>" in listed
    assert "<td>Manages artifacts</td>" in listed
    assert "<td>Fetches tokens and secrets and manages artifacts</td>" in listed
    refused = page.post(PAGE, {"name": "nothing"})
    assert refused.status_code == 400 and "Choose what the token may do" in refused.text
    assert ApiToken.objects.count() == 3


def create(*args: str) -> ApiToken:
    out = StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=StringIO())
    token = ApiToken.authenticate(out.getvalue().strip().splitlines()[-1])
    assert token is not None
    return token


def test_the_command_grants_consume_by_default_and_manage_alone_when_asked(db: None) -> None:
    plain, manager = create("plain"), create("manager", "--manage")
    both = create("both", "--manage", "--consume")
    assert (plain.can_consume, plain.can_manage) == (True, False)
    assert (manager.can_consume, manager.can_manage) == (False, True)
    assert (both.can_consume, both.can_manage) == (True, True)


@pytest.mark.parametrize(
    "name",
    [
        "INVOICE-MAILER",  # case
        # full-width look-alikes: NFKC makes them the same
        "\uff49\uff4e\uff56\uff4f\uff49\uff43\uff45-\uff4d\uff41\uff49\uff4c\uff45\uff52",
        "invoice\u2010mailer",  # a Unicode hyphen is not the ASCII one: refused by the rules
    ],
)
def test_a_name_like_an_existing_one_is_refused_on_the_page_and_by_the_command(
    db: None, name: str
) -> None:
    ApiToken.create("invoice-mailer")
    page = client_with("view_apitoken", "add_apitoken")
    response = page.post(PAGE, {"name": name, "can_consume": "on"})
    assert response.status_code == 400
    with pytest.raises(CommandError):
        create(name)
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["invoice-mailer"]


@pytest.mark.parametrize("name", ["two words", "naïve", "a/b", "x" * 101, ""])
def test_the_command_uses_the_artifact_name_rules(db: None, name: str) -> None:
    with pytest.raises(CommandError):
        create(name)
    assert not ApiToken.objects.exists()


def test_an_authorization_code_artifact_is_served_to_a_consume_token(
    artifacts: None,
) -> None:
    _, secret = ApiToken.create("integration", artifact_names=["Generic"])
    response = bearer(secret).get(ACCESS.format("Generic"))
    # Reached the artifact (never authorized: 409), not refused by the grant.
    assert response.status_code == 409
    assert OAuth2AuthorizationCode.objects.get().name == "Generic"
