"""GET /api/v1/security-material/<name>: User Credentials and Secure Parameters for
integrations, with the API token's limits and an audit entry per read."""

from __future__ import annotations

import pytest
from django.test import Client

from api.models import ApiToken
from securitymaterial.models import AuditEntry, SecureParameter, UserCredentials


@pytest.fixture
def stored(db: None) -> None:
    UserCredentials.objects.create(
        name="Erp_User",
        user="erp",
        password="pw-Secret 1",
        credential_kind="successfactors",
        company_id="ACME",
    )
    SecureParameter.objects.create(name="Erp_Key", value="key-Secret-2")


def reader(**limits: object) -> Client:
    _, secret = ApiToken.create("erp-flow", **limits)  # type: ignore[arg-type]
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_user_credentials_and_secure_parameters_are_handed_out_and_audited(
    stored: None,
) -> None:
    client = reader()
    user = client.get("/api/v1/security-material/erp_user")  # names match in any case
    assert user.status_code == 200 and "no-store" in user["Cache-Control"]
    assert user.json() == {
        "name": "Erp_User",
        "type": "user-credentials",
        "user": "erp",
        "password": "pw-Secret 1",
        "company_id": "ACME",
        "value": None,
    }
    value = client.get("/api/v1/security-material/Erp_Key").json()
    assert value["value"] == "key-Secret-2" and value["password"] is None
    reads = AuditEntry.objects.filter(action=AuditEntry.Action.SECRET_READ)
    assert sorted(reads.values_list("artifact_name", "detail")) == [
        ("Erp_Key", "Read by API token “erp-flow”"),
        ("Erp_User", "Read by API token “erp-flow”"),
    ]
    assert "Secret" not in str(list(reads.values()))


def test_a_token_limited_to_other_names_or_runtimes_gets_403(stored: None) -> None:
    limited = reader(artifact_names=["Erp_Key"])
    assert limited.get("/api/v1/security-material/Erp_User").status_code == 403
    edge_only = Client(HTTP_AUTHORIZATION=f"Bearer {ApiToken.create('edge', runtime='edge')[1]}")
    assert edge_only.get("/api/v1/security-material/Erp_Key").status_code == 403
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.SECRET_READ).exists()


def test_the_wrong_endpoint_for_a_type_says_which_one_to_use(
    stored: None, make_artifact: object
) -> None:
    client = reader()
    no_token = client.get("/api/v1/security-material/Erp_Key/access-token")
    assert no_token.status_code == 404
    assert "GET /api/v1/security-material/Erp_Key" in no_token.json()["detail"]
    make_artifact()  # type: ignore[operator]
    oauth = client.get("/api/v1/security-material/Generic_App")
    assert oauth.status_code == 404 and "/access-token" in oauth.json()["detail"]
    assert client.get("/api/v1/security-material/Nope").status_code == 404
    assert Client().get("/api/v1/security-material/Erp_Key").status_code == 401
