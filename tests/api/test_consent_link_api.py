"""The management API creates and revokes a consent link (oauthflows.consent): the link in
the answer once, never stored or readable again; only for artifacts that await consent;
refused to tokens that may not manage the artifact."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.test import Client

from api.models import ApiToken
from oauthflows.models import ConsentLink
from securitymaterial.models import AuditEntry, OAuth2AuthorizationCode, Status
from tests.conftest import database_snapshot

PATH = "/api/v1/manage/oauth2-authorization-code/{}/consent-link"


def as_token(secret: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def manager(db: None) -> Client:
    _, secret = ApiToken.create("provisioning", can_manage=True)
    return as_token(secret)


def test_a_link_is_created_once_and_replaces_the_outstanding_one(
    manager: Client, make_artifact: Any
) -> None:
    artifact = make_artifact(user_name="mailer@example.com")
    first = manager.post(PATH.format("generic_app"))
    assert first.status_code == 201, first.content
    answer = first.json()
    assert answer["user_name"] == "mailer@example.com"
    assert "no-store" in first["Cache-Control"]
    token = answer["consent_link"].split("?link=", 1)[1]
    assert answer["consent_link"] == f"http://127.0.0.1:8000/consent/?link={token}"
    link = ConsentLink.objects.get()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert link.created_by_name == "API token “provisioning”"
    second = manager.post(PATH.format("Generic_App"))
    assert second.status_code == 201 and second.json()["consent_link"] != answer["consent_link"]
    assert artifact.consent_links.outstanding().pk != link.pk
    read = manager.get("/api/v1/manage/oauth2-authorization-code/Generic_App")
    assert token not in read.content.decode() and "/consent/" not in read.content.decode()


def test_revoke_ends_it_and_a_second_revoke_is_404(manager: Client, make_artifact: Any) -> None:
    artifact = make_artifact()
    manager.post(PATH.format("Generic_App"))
    assert manager.delete(PATH.format("Generic_App")).status_code == 204
    assert artifact.consent_links.outstanding() is None
    assert ConsentLink.objects.get().ended == ConsentLink.End.REVOKED
    assert AuditEntry.objects.filter(action=AuditEntry.Action.CONSENT_LINK_REVOKED).exists()
    again = manager.delete(PATH.format("Generic_App"))
    assert again.status_code == 404 and again.json()["detail"]


def test_an_authorized_artifact_gets_no_link(manager: Client, make_artifact: Any) -> None:
    make_artifact(status=Status.DEPLOYED, refresh_token="RT")
    before = database_snapshot()
    response = manager.post(PATH.format("Generic_App"))
    assert response.status_code == 409
    assert database_snapshot() == before


@pytest.mark.parametrize(
    "token",
    [
        {"can_manage": False},
        {"can_manage": True, "artifact_names": ["Other_App"]},
        {"can_manage": True, "runtime": "edge"},
    ],
)
def test_a_token_that_may_not_manage_it_is_refused_and_changes_nothing(
    make_artifact: Any, token: dict[str, Any]
) -> None:
    make_artifact()
    _, secret = ApiToken.create("limited", **token)
    before = database_snapshot()
    for method in ("post", "delete"):
        response = getattr(as_token(secret), method)(PATH.format("Generic_App"))
        assert response.status_code == 403, (method, response.content)
    assert database_snapshot() == before
    assert not ConsentLink.objects.exists()


def test_other_types_and_unknown_names_are_404(manager: Client, make_artifact: Any) -> None:
    from securitymaterial.models import SecureParameter

    SecureParameter.objects.create(name="Param_1", value="v")
    for name in ("Param_1", "Nobody", "x" * 151):
        assert manager.post(PATH.format(name)).status_code == 404
    assert not OAuth2AuthorizationCode.objects.exists()
