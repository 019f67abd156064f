"""Hostile input, third round (issue 17), on the API: each cause of a 500 found then, kept
as a regression case; every answer a documented JSON 4xx that says what to change, and a
refused request changes nothing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from api.models import ApiToken
from securitymaterial.models import SecureParameter
from tests.conftest import database_snapshot

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
        ('{"name": "Key_1", "value": "v", "description": ' + "[" * 30 + "]" * 30 + "}",
         "nested more than 20 levels"),
    ],
)  # fmt: skip
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
