"""Personas and shared fixtures.

admin_user (ada): the Administrator's permissions on the catalogue (view, add, change,
delete) and the Operator's (operate_artifact); not a superuser. reader (rita): a Viewer, may
only view. outsider (otto): signed in, no permission at all. Their clients: admin_client,
reader_client, outsider_client. Also the real OAuth server (oauth_server, session-wide),
make_artifact, and the mail servers (tests.support.mailservers, registered below).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client

from securitymaterial.models import OAuth2AuthorizationCode
from tests.support.oauth_server import OAuthServer, running_oauth_server

# The mail servers' fixtures (smtp_server, imap_server, mail_oauth, maildirs), registered once.
pytest_plugins = ["tests.support.mailservers"]

TEST_KEY = Fernet.generate_key().decode()


def fuzz_examples(count: int) -> int:
    """How many examples a hypothesis test tries: all of them in `make test` and CI, a tenth
    in the fast lane (`make quick` sets QUICK=1)."""
    return max(5, count // 10) if os.environ.get("QUICK") else count


PASSWORD = "correct horse battery staple"
CLIENT_SECRET = "Xq8~plain.client-secret_value"


@pytest.fixture(scope="session")
def oauth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthServer]:
    """A real OAuth 2.0 server (django-oauth-toolkit) in its own process."""
    with running_oauth_server(tmp_path_factory.mktemp("provider")) as server:
        yield server


# The test servers (OAuth, SMTP, IMAP) listen on 127.0.0.1: allowed as `make run` allows
# them, in this process (below) and in the app's processes the tests start (environment).
os.environ["ALLOW_LOOPBACK_TOKEN_ENDPOINTS"] = "true"
# Uses are written in the request and answers are not kept: a test's assertions follow its
# request at once. tests/api/test_usage_and_answers.py tests both as shipped.
os.environ["USE_RECORD_DELAY_SECONDS"] = "0"
os.environ["TOKEN_ANSWER_CACHE_SECONDS"] = "0"


@pytest.fixture(autouse=True)
def _test_settings(settings: Any) -> None:
    settings.SECURITY_MATERIAL_KEYS = [TEST_KEY]
    settings.SECURITY_MATERIAL_KEY_FILE = None
    settings.ALLOW_LOOPBACK_TOKEN_ENDPOINTS = True
    settings.USE_RECORD_DELAY_SECONDS = 0
    settings.TOKEN_ANSWER_CACHE_SECONDS = 0
    # Test users' passwords need no protection: PBKDF2's million rounds cost 0.3 s a user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _user(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", PASSWORD)
    perms = Permission.objects.filter(
        content_type__app_label="securitymaterial", codename__in=codenames
    )
    user.user_permissions.set(perms)
    return user


@pytest.fixture
def admin_user(db: None) -> User:
    return _user(
        "ada",
        "view_artifact",
        "add_artifact",
        "change_artifact",
        "delete_artifact",
        "operate_artifact",
    )


@pytest.fixture
def reader(db: None) -> User:
    return _user("rita", "view_artifact")


@pytest.fixture
def outsider(db: None) -> User:
    return _user("otto")


@pytest.fixture
def admin_client(admin_user: User) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def reader_client(reader: User) -> Client:
    client = Client()
    client.force_login(reader)
    return client


@pytest.fixture
def outsider_client(outsider: User) -> Client:
    client = Client()
    client.force_login(outsider)
    return client


def valid_form_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "M365_Mailer",
        "description": "Sends invoices",
        "provider": "microsoft365",
        "tenant": "contoso.onmicrosoft.com",
        "authorization_url": "",
        "token_service_url": "",
        "refresh_token_expiry_days": "90",
        "client_id": "11111111-2222-3333-4444-555555555555",
        "client_secret": CLIENT_SECRET,
        "send_as": "body",
        "user_name": "mailer@contoso.com",
        "scope": "https://outlook.office.com/SMTP.Send",
        "use_pkce": "on",
    }
    data.update(overrides)
    return data


@pytest.fixture
def make_artifact(db: None, admin_user: User) -> Callable[..., OAuth2AuthorizationCode]:
    def make(**fields: Any) -> OAuth2AuthorizationCode:
        values: dict[str, Any] = {
            "name": "Generic_App",
            "provider": "generic",
            "authorization_url": "https://auth.example.com/authorize",
            "token_service_url": "https://auth.example.com/token",
            "client_id": "client-1",
            "client_secret": CLIENT_SECRET,
            "scope": "read write",
            "deployed_by": admin_user,
        }
        values.update(fields)
        return OAuth2AuthorizationCode.objects.create(**values)

    return make


def opened(ciphertext: str, key: str) -> str:
    """A stored value as documented (securitymaterial.crypto): the first 8 hex digits of the
    SHA-256 of the key that encrypted it, "$", and the Fernet token; its plaintext."""
    key_id, token = ciphertext.split("$", 1)
    assert key_id == hashlib.sha256(key.encode()).hexdigest()[:8], "not the key's id"
    return Fernet(key).decrypt(token.encode()).decode()


def raw_rows(table: str) -> list[tuple[Any, ...]]:
    """Every row of a table as the database holds it, bypassing the ORM's decryption."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
        return list(cursor.fetchall())


def raw_secrets(name: str | None = None) -> list[str]:
    """The client_secret column as stored (ciphertext), optionally of one artifact."""
    sql = (
        "SELECT client_secret FROM securitymaterial_oauth2authorizationcode "
        "JOIN securitymaterial_artifact ON artifact_ptr_id = id"
    )
    params: list[str] = []
    if name is not None:
        sql += " WHERE name = %s"
        params.append(name)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def catalogue_tables() -> list[str]:
    return sorted(
        table
        for table in connection.introspection.table_names()
        if table.startswith("securitymaterial_")
    )


def database_snapshot() -> list[tuple[Any, ...]]:
    """The catalogue tables' contents (every type, the audit), to prove a rejected request
    changed nothing."""
    return [row for table in catalogue_tables() for row in raw_rows(table)]


# The fast lane (`make quick`) leaves out what starts a server, a process or a browser.
SLOW_FIXTURES = {
    "oauth_server",
    "mail_oauth",
    "smtp_server",
    "imap_server",
    "live_server",
    "page",
    "worker",
    "beat",
    "app_server",
    "shipped_server",
}
SLOW_MODULES = {
    # processes
    "test_access_log.py",
    "test_checks.py",
    "test_postgresql_restart.py",
    "test_benchmarks_run.py",
    "test_database_outage.py",
    "test_redis_outage.py",
    "test_outage_under_gunicorn.py",
    "test_access_token_burst.py",
    # servers on real sockets, waiting out deadlines
    "test_client_network.py",
    "test_connectivity_rules.py",
    "test_client_rules.py",
    # migrations run back and forth; 200 days of refreshes
    "test_migration_to_catalogue.py",
    "test_refresh_over_200_days.py",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)
        elif SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or (
            item.path.name in SLOW_MODULES
        ):
            item.add_marker(pytest.mark.slow)
