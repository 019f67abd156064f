"""8 processes refresh the same artifact at once, 50 rounds, against a real OAuth server
whose refresh tokens rotate and are rejected when reused: exactly one refresh per round."""

from __future__ import annotations

import multiprocessing
import os
from datetime import timedelta
from typing import Any

from django.db import connections
from django.utils import timezone

from oauthflows.refresh import refresh_artifact
from securitymaterial.models import OAuth2AuthorizationCode, Status
from tests.conftest import CLIENT_SECRET
from tests.support.oauth_server import OAuthServer

PROCESSES = 8
ROUNDS = int(os.environ.get("ROUNDS", "50"))
CONTEXT = multiprocessing.get_context("fork")


def worker(pk: int, start: Any, results: Any) -> None:
    """A separate process: its own database connection, its own HTTP client."""
    connections.close_all()  # never share the parent's connection
    try:
        for _ in range(ROUNDS):
            start.wait(timeout=120)
            results.put(refresh_artifact(pk).action)
    except Exception as error:  # report instead of hanging the parent
        results.put(f"crashed: {type(error).__name__}: {error}")
    finally:
        connections.close_all()
        results.close()
        results.join_thread()  # flush the last result before _exit skips the feeder thread
        os._exit(0)


def test_eight_processes_spend_each_refresh_token_once(
    transactional_db: None, oauth_server: OAuthServer, make_artifact: Any
) -> None:
    oauth_server.register_client(
        "concurrent", CLIENT_SECRET, "http://localhost/oauth2/callback/", auth_method="body"
    )
    artifact = make_artifact(
        name="Busy",
        client_id="concurrent",
        token_service_url=f"{oauth_server.url}/o/token/",
        status=Status.DEPLOYED,
        refresh_token=oauth_server.issue_refresh_token("concurrent"),
        access_token="AT-0",
        refresh_token_expiry_days=90,
        refresh_token_renewed_at=timezone.now(),
    )
    start = CONTEXT.Barrier(PROCESSES + 1)
    results = CONTEXT.Queue()
    connections.close_all()
    workers = [
        CONTEXT.Process(target=worker, args=(artifact.pk, start, results)) for _ in range(PROCESSES)
    ]
    for process in workers:
        process.start()
    try:
        seen_tokens = {artifact.refresh_token}
        for round_number in range(ROUNDS):
            # Due again: the refresh token reached half its expiry.
            stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
            stored.refresh_token_renewed_at = timezone.now() - timedelta(days=46)
            stored.reschedule(timezone.now())
            stored.save()
            start.wait(timeout=120)
            actions = sorted(results.get(timeout=120) for _ in range(PROCESSES))
            assert actions == ["refreshed"] + ["skipped"] * (PROCESSES - 1), (round_number, actions)
            stored = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
            assert stored.status == Status.DEPLOYED
            assert stored.refresh_token not in seen_tokens  # rotated, and the new one kept
            seen_tokens.add(stored.refresh_token)
    finally:
        for process in workers:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    # The server saw exactly one refresh per round (plus the token issued at the start).
    assert oauth_server.refresh_tokens_issued("concurrent") == ROUNDS + 1
    final = OAuth2AuthorizationCode.objects.get(pk=artifact.pk)
    assert final.status == Status.DEPLOYED
    assert final.refresh_token == stored.refresh_token
