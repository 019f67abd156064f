"""The database goes away after the provider has rotated the refresh token, before the new
one is committed: the refresh keeps the new tokens in memory and stores them once the
database answers again, so the rotated refresh token is not lost (the old one is spent).

PostgreSQL's restart is played by terminating the refresh's own server process at that
moment, which is what a restart does to every connection."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest
from django.db import connection

from oauthflows import refresh
from oauthflows.outcomes import TokenOutcome
from securitymaterial.models import OAuth2AuthorizationCode, Status
from tests.oauthflows.test_refresh_with_celery import due_artifact
from tests.support.http_servers import HoldingTokenEndpoint
from tests.support.oauth_server import OAuthServer
from tests.support.processes import test_database_url

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="terminates PostgreSQL backends (CI runs it)"
)


def terminate_the_refresh_in_flight() -> None:
    """Every other connection of this database that holds an open transaction: the
    refresh's, waiting for the token answer with the row locked."""
    with psycopg.connect(test_database_url(), autocommit=True) as admin:
        ended = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND state = 'idle in transaction'"
        ).fetchall()
    assert ended == [(True,)], ended


def refresh_in_a_thread(pk: int) -> TokenOutcome:
    """Its own connection, as a worker has: the one the test's server process kills."""
    outcome: list[TokenOutcome] = []

    def run() -> None:
        try:
            outcome.append(refresh.refresh_artifact(pk, force=True))
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert outcome, "the refresh raised or hung"
    return outcome[0]


def test_a_rotated_refresh_token_survives_the_database_going_away_before_the_commit(
    transactional_db: None, oauth_server: OAuthServer, make_artifact: Any
) -> None:
    upstream = f"{oauth_server.url}/o/token/"
    with HoldingTokenEndpoint(
        upstream, hold=0, before_answer=terminate_the_refresh_in_flight
    ) as proxy:
        artifact = due_artifact(oauth_server, make_artifact, "outage-app", proxy.url)
        outcome = refresh_in_a_thread(artifact.pk)
    assert (outcome.action, outcome.detail) == ("refreshed", "stored once the database was back")
    stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert stored.status == Status.DEPLOYED
    assert stored.refresh_token != artifact.refresh_token  # the old one is spent at the server
    assert oauth_server.refresh_tokens_issued("outage-app") == 2
    # The stored one is the live one: the next refresh at the provider succeeds with it.
    OAuth2AuthorizationCode.objects.filter(pk=artifact.pk).update(token_service_url=upstream)
    assert refresh.refresh_artifact(artifact.pk, force=True).action == "refreshed"


def test_tokens_stored_by_someone_else_meanwhile_are_not_overwritten(
    transactional_db: None, oauth_server: OAuthServer, make_artifact: Any
) -> None:
    """Say an admin authorized it again while the database was coming back: that is newer."""
    upstream = f"{oauth_server.url}/o/token/"

    def kill_then_store_newer() -> None:
        terminate_the_refresh_in_flight()
        # Waits for the killed transaction's row lock to go, as the real one would.
        OAuth2AuthorizationCode.objects.filter(client_id="newer-app").update(
            refresh_token="RT-newer"
        )
        connection.close()  # this thread's own connection

    with HoldingTokenEndpoint(upstream, hold=0, before_answer=kill_then_store_newer) as proxy:
        artifact = due_artifact(oauth_server, make_artifact, "newer-app", proxy.url)
        outcome = refresh_in_a_thread(artifact.pk)
    assert (outcome.action, outcome.detail) == ("skipped", "newer tokens stored meanwhile")
    assert OAuth2AuthorizationCode.objects.get(pk=artifact.pk).refresh_token == "RT-newer"
