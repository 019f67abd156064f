"""The migration to one catalogue keeps every artifact, token, audit entry, pending sign-in
and permission grant of a database made with the schema before it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from tests.support.processes import ROOT

OLD_SCHEMA = [("securitymaterial", "0002"), ("oauthflows", "0001"), ("api", "0001")]

# Runs with the schema before the migration: the models of that state, not today's.
POPULATE = """
from datetime import timedelta
from django.contrib.auth.models import Permission, User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

old = MigrationLoader(connection).project_state(
    [("securitymaterial", "0002_audit_tokens_and_api_tokens"), ("oauthflows", "0001_initial")]
).apps
Code = old.get_model("securitymaterial", "OAuth2AuthorizationCode")
Audit = old.get_model("securitymaterial", "AuditEntry")
State = old.get_model("oauthflows", "AuthorizationState")
now = timezone.now()
ada = User.objects.create_user("ada")
ct, _ = ContentType.objects.get_or_create(
    app_label="securitymaterial", model="oauth2authorizationcode"
)
perm, _ = Permission.objects.get_or_create(
    content_type=ct, codename="change_oauth2authorizationcode", defaults={"name": "Can change"}
)
ada.user_permissions.add(perm)
mailer = Code.objects.create(
    name="M365_Mailer", runtime="cloud", provider="microsoft365", tenant="contoso.com",
    authorization_url="https://login.example.com/a", token_service_url="https://login.example.com/t",
    refresh_token_expiry_days=90, client_id="client-1", client_secret="SECRET-MIGRATE-1",
    user_name="mailer@contoso.com", scope="offline_access SMTP.Send", status="deployed",
    access_token="ACCESS-MIGRATE-1", refresh_token="REFRESH-MIGRATE-1",
    access_token_expires_at=now + timedelta(hours=1), refresh_token_renewed_at=now,
    next_refresh_at=now + timedelta(days=30), deployed_by_id=ada.pk, authorized_by_id=ada.pk,
    authorized_account="mailer@contoso.com", attempts_since_success=2, last_used_at=now,
)
Code.objects.create(
    name="Generic_App", runtime="edge", provider="generic",
    authorization_url="https://auth.example.com/a", token_service_url="https://auth.example.com/t",
    client_id="client-2", client_secret="SECRET-MIGRATE-2", status="error",
    error_kind="reauthorize", status_reason="Consent revoked.",
)
Audit.objects.create(artifact=mailer, runtime="cloud", artifact_name="M365_Mailer",
                     action="authorized", actor_id=ada.pk, actor_name="ada")
State.objects.create(state_hash="h" * 64, artifact=mailer, user_id=ada.pk, session_hash="s" * 64,
                     code_verifier="VERIFIER-MIGRATE-1", redirect_uri="https://sm.example.com/cb",
                     token_service_url="https://login.example.com/t", artifact_fingerprint="f" * 64,
                     expires_at=now + timedelta(minutes=10))
print("ids", mailer.pk)
"""

READ_BACK = """
import json
from django.contrib.auth.models import User
from oauthflows.models import AuthorizationState
from securitymaterial.models import Artifact, AuditEntry, OAuth2AuthorizationCode

mailer = OAuth2AuthorizationCode.objects.get(name="M365_Mailer")
generic = Artifact.objects.get(name="Generic_App")
state = AuthorizationState.objects.get()
ada = User.objects.get(username="ada")
print(json.dumps({
    "kinds": sorted(Artifact.objects.values_list("kind", flat=True)),
    "mailer_id": mailer.pk,
    "secrets": [mailer.client_secret, mailer.access_token, mailer.refresh_token],
    "state": [mailer.status, mailer.user_name, mailer.refresh_token_expiry_days,
              mailer.attempts_since_success, mailer.deployed_by.username,
              mailer.authorized_by.username, mailer.next_refresh_at is not None,
              mailer.last_used_at is not None],
    "generic": [generic.runtime, generic.status, generic.error_kind, generic.status_reason,
                generic.typed().client_secret, generic.typed().provider],
    "audit": list(AuditEntry.objects.values_list("artifact_id", "action")),
    "pending": [state.artifact_id, state.code_verifier],
    "ada_may_change": ada.has_perm("securitymaterial.change_artifact"),
    # Migration 0006: who could change (which included authorizing) may still authorize.
    "ada_may_operate": ada.has_perm("securitymaterial.operate_artifact"),
}))
"""


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the kind this session runs on."""
    if connection.vendor != "postgresql":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    name = f"sm_migration_{os.getpid()}"
    db = connection.settings_dict
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{name}"
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def manage(*args: str, url: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "SECURITY_MATERIAL_KEYS": KEY}
    result = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


KEY = Fernet.generate_key().decode()


@pytest.mark.django_db(transaction=True)
def test_every_artifact_token_audit_entry_and_grant_survives_the_migration(
    database_url: str,
) -> None:
    for app, target in OLD_SCHEMA:
        manage("migrate", app, target, "-v", "0", url=database_url)
    manage("migrate", "auth", "-v", "0", url=database_url)
    old_id = int(manage("shell", "-c", POPULATE, url=database_url).split()[-1])

    manage("migrate", "-v", "0", url=database_url)
    found = json.loads(manage("shell", "-c", READ_BACK, url=database_url).splitlines()[-1])

    assert found["kinds"] == ["oauth2-authorization-code", "oauth2-authorization-code"]
    assert found["mailer_id"] == old_id  # URLs and API references keep working
    assert found["secrets"] == ["SECRET-MIGRATE-1", "ACCESS-MIGRATE-1", "REFRESH-MIGRATE-1"]
    assert found["state"] == ["deployed", "mailer@contoso.com", 90, 2, "ada", "ada", True, True]
    assert found["generic"] == [
        "edge",
        "error",
        "reauthorize",
        "Consent revoked.",
        "SECRET-MIGRATE-2",
        "generic",
    ]
    assert found["audit"] == [[old_id, "authorized"]]
    assert found["pending"] == [old_id, "VERIFIER-MIGRATE-1"]
    assert found["ada_may_change"] is True
    assert found["ada_may_operate"] is True
