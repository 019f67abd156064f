"""Everything that writes tokens reads the artifact only after taking its row lock.

Fast and deterministic: a second connection holds the row lock and rotates the refresh
token, as a refresh in another process would; the code under test runs in a thread and
must wait for that lock, then see the rotated token. PostgreSQL only: SQLite has no row
locks to hold from outside (the 8-process concurrency test covers it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from io import StringIO
from typing import Any

import psycopg
import pytest
import responses
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from oauthflows import refresh
from oauthflows.outcomes import TokenOutcome
from securitymaterial import crypto, services
from securitymaterial.forms import OAuth2AuthorizationCodeForm
from securitymaterial.models import Artifact, OAuth2AuthorizationCode
from tests.conftest import TEST_KEY
from tests.securitymaterial.test_edit_view import edit_data

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL (CI runs it)"
    ),
]
TABLE = OAuth2AuthorizationCode._meta.db_table
CATALOGUE = Artifact._meta.db_table
TOKEN_URL = "https://auth.example.com/token"


def _other_connection() -> psycopg.Connection[Any]:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params)


def _wait_until_someone_waits_for_a_lock(conn: psycopg.Connection[Any]) -> None:
    """Poll the server's lock table (a condition, not a fixed pause)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        (waiting,) = conn.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()
        if waiting:
            return
        time.sleep(0.01)
    raise AssertionError("the code under test never waited for the row lock")


@contextmanager
def another_process_rotates(pk: int, **columns: Any) -> Iterator[None]:
    """Hold the row lock and rotate the tokens (uncommitted) while the body starts the code
    under test; commit once that code waits for the lock."""
    conn = _other_connection()
    try:
        # As Artifact.lock() takes it: the catalogue row, then the type's row.
        conn.execute(f"SELECT id FROM {CATALOGUE} WHERE id = %s FOR UPDATE", [pk])  # noqa: S608
        assignments = ", ".join(f"{name} = %s" for name in columns)
        conn.execute(
            f"UPDATE {TABLE} SET {assignments} WHERE artifact_ptr_id = %s",  # noqa: S608
            [*columns.values(), pk],
        )
        yield
        _wait_until_someone_waits_for_a_lock(conn)
        conn.commit()
    finally:
        conn.close()


def in_thread(target: Callable[[], object]) -> threading.Thread:
    def run() -> None:
        try:
            target()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_an_edit_reads_the_row_only_after_the_lock(
    authorized: OAuth2AuthorizationCode, admin_user: Any
) -> None:
    stale = OAuth2AuthorizationCode.objects.get(pk=authorized.pk)
    form = OAuth2AuthorizationCodeForm(edit_data(stale, description="documented"), instance=stale)
    assert form.is_valid(), form.errors
    with another_process_rotates(authorized.pk, refresh_token=crypto.encrypt("RT-rotated")):
        thread = in_thread(lambda: services.redeploy(form, admin_user))
    thread.join(timeout=30)
    stored = OAuth2AuthorizationCode.objects.get(pk=authorized.pk)
    assert stored.description == "documented"
    assert stored.refresh_token == "RT-rotated"


@responses.activate
def test_a_refresh_reads_the_row_only_after_the_lock(authorized: OAuth2AuthorizationCode) -> None:
    responses.post(TOKEN_URL, json={"access_token": "AT-x", "token_type": "Bearer"})
    renewed = timezone.now()
    with another_process_rotates(
        authorized.pk,
        refresh_token=crypto.encrypt("RT-rotated"),
        refresh_token_renewed_at=renewed,
        next_refresh_at=renewed + timedelta(days=45),
    ):
        outcomes: list[TokenOutcome] = []
        thread = in_thread(lambda: outcomes.append(refresh.refresh_artifact(authorized.pk)))
    thread.join(timeout=30)
    assert [outcome.action for outcome in outcomes] == ["skipped"]
    assert len(responses.calls) == 0  # the spent refresh token was never sent
    assert OAuth2AuthorizationCode.objects.get(pk=authorized.pk).refresh_token == "RT-rotated"


def test_rotate_keys_reads_each_batch_only_after_its_locks(
    authorized: OAuth2AuthorizationCode, settings: Any
) -> None:
    """Else it would re-encrypt the ciphertext it read before a refresh committed, and write
    it over the refresh's new token."""
    rotated = crypto.encrypt("RT-rotated")  # under the old key, as the refresh wrote it
    settings.SECURITY_MATERIAL_KEYS = [Fernet.generate_key().decode(), TEST_KEY]
    with another_process_rotates(authorized.pk, refresh_token=rotated):
        thread = in_thread(lambda: call_command("rotate_keys", stdout=StringIO()))
    thread.join(timeout=30)
    settings.SECURITY_MATERIAL_KEYS = settings.SECURITY_MATERIAL_KEYS[:1]  # the old key gone
    assert OAuth2AuthorizationCode.objects.get(pk=authorized.pk).refresh_token == "RT-rotated"
