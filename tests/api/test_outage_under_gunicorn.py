"""The consumer API under gunicorn with the shipped configuration: a refresh it starts
whose commit meets a database outage longer than gunicorn's default worker timeout (30 s)
still stores the rotated refresh token once the database is back, and the caller gets the
new access token. With the default timeout the worker was killed and the token lost."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from django.db import connection
from django.utils import timezone

from api.models import ApiToken
from securitymaterial.models import OAuth2AuthorizationCode, Status
from tests.oauthflows.test_refresh_with_celery import due_artifact
from tests.support.http_servers import HoldingTokenEndpoint
from tests.support.oauth_server import OAuthServer
from tests.support.processes import gunicorn, test_database_url

OUTAGE_SECONDS = 35  # longer than gunicorn's default timeout

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="closes a PostgreSQL database (CI runs it)"
)


@pytest.fixture
def shipped_server(tmp_path: Path, transactional_db: None) -> Iterator[str]:
    """gunicorn as scripts/run, the Dockerfile and compose start it: sync workers (no
    threads, so the arbiter's worker timeout applies) and the shipped configuration."""
    with gunicorn(tmp_path, "--workers", "2") as url:
        yield url


class Outage:
    """Ends the refresh's connection and refuses new ones to the test database for a while,
    as a restart or failover does; from the `postgres` database, which stays open."""

    def __init__(self) -> None:
        self.database = connection.settings_dict["NAME"]
        self.admin_url = test_database_url().rsplit("/", 1)[0] + "/postgres"
        self.timer = threading.Timer(OUTAGE_SECONDS, self.end)

    def begin(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS false')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"
                " AND state = 'idle in transaction'",
                [self.database],
            )
        self.timer.start()

    def end(self) -> None:
        self.timer.cancel()
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS true')


def test_a_consumers_refresh_survives_an_outage_longer_than_the_default_worker_timeout(
    shipped_server: str, oauth_server: OAuthServer, make_artifact: Any
) -> None:
    upstream = f"{oauth_server.url}/o/token/"
    outage = Outage()
    try:
        with HoldingTokenEndpoint(upstream, hold=0, before_answer=outage.begin) as proxy:
            artifact = due_artifact(oauth_server, make_artifact, "gunicorn-outage", proxy.url)
            OAuth2AuthorizationCode.objects.filter(pk=artifact.pk).update(
                access_token_expires_at=timezone.now() + timedelta(seconds=30)
            )
            _, secret = ApiToken.create("outage-consumer")
            response = requests.get(
                f"{shipped_server}/api/v1/security-material/gunicorn-outage/access-token",
                headers={"Authorization": f"Bearer {secret}"},
                timeout=150,
            )
    finally:
        outage.end()
    connection.close()  # ours may have been refused meanwhile
    assert response.status_code == 200, response.text
    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert response.json()["access_token"] == stored.access_token != "AT-0"
    assert stored.status == Status.DEPLOYED
    assert stored.refresh_token != artifact.refresh_token  # the rotated one, kept
    assert oauth_server.refresh_tokens_issued("gunicorn-outage") == 2
    # It is the live one: the provider takes it for the next refresh.
    OAuth2AuthorizationCode.objects.filter(pk=artifact.pk).update(token_service_url=upstream)
    from oauthflows import refresh

    assert refresh.refresh_artifact(artifact.pk, force=True).action == "refreshed"
