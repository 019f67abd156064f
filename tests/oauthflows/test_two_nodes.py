"""Two nodes' worth of Celery on one PostgreSQL and Redis: 2 workers and 2 beats, and a
queue that takes longer to drain than REFRESH_DISPATCH_LEASE_SECONDS. Every due artifact
is refreshed exactly once (counted at the token endpoint), and beat hands out almost
nothing twice (issue 19: duplicates at most 1% of the due artifacts; the lease alone sent
8,460 tasks for 5,880).

The beats here call beat's dispatch directly, twice a second each, from two threads: a
real beat sends its dispatch through the same queue, behind the backlog, which is the
gentler case (a worker with spare processes runs it while the backlog is still queued)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.db import connection
from django.utils import timezone

from bench.token_server import TokenServer
from oauthflows.models import RefreshDispatch
from securitymaterial.models import OAuth2AuthorizationCode, Status
from tests.support.processes import read_until, start, stop

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED (CI runs it)"),
]
BROKER = "redis://127.0.0.1:6379/13"
DUE = 200
DELAY = 0.1  # seconds per token request: 2 workers drain 200 in about 10 s
LEASE = 5  # seconds: shorter than the drain


@pytest.fixture
def broker_url() -> str:
    redis.Redis.from_url(BROKER).flushdb()
    return BROKER


@contextmanager
def two_workers(celery_env: dict[str, str]) -> Iterator[None]:
    env = {**celery_env, "REFRESH_DISPATCH_LEASE_SECONDS": str(LEASE)}
    with ExitStack() as stack:
        for node in ("one", "two"):
            worker = start(
                [
                    *(sys.executable, "-m", "celery", "-A", "config", "worker"),
                    *("--loglevel", "INFO", "--concurrency", "1", "--hostname", f"{node}@%h"),
                    *("--without-mingle", "--without-gossip"),
                ],
                env,
            )
            stack.callback(stop, worker)
            read_until(worker, rf"{node}@\S+ ready", 60)
        yield


@contextmanager
def two_beats(settings: Any) -> Iterator[list[Exception]]:
    """Beat's work, twice a second, from two threads (their own database connections)."""
    from django.db import connection as own

    from config.celery import app
    from oauthflows import refresh, tasks

    settings.REFRESH_DISPATCH_LEASE_SECONDS = LEASE
    stopping, errors = threading.Event(), []

    def beat() -> None:
        try:
            with app.connection_for_write(BROKER) as broker:

                def enqueue(ids: list[int], round_: int) -> None:
                    tasks.refresh_credentials.apply_async((ids, round_), connection=broker)

                while not stopping.wait(0.5):
                    refresh.dispatch_due(timezone.now(), enqueue)
        except Exception as error:  # the test fails with it
            errors.append(error)
        finally:
            own.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        yield errors
    finally:
        stopping.set()
        for thread in threads:
            thread.join(timeout=30)


def test_two_workers_and_two_beats_refresh_each_once_and_hand_out_almost_nothing_twice(
    celery_env: dict[str, str], make_artifact: Any, settings: Any
) -> None:
    with TokenServer(delay=DELAY) as server:
        now = timezone.now()
        for number in range(DUE):
            make_artifact(
                name=f"Due_{number:03}",
                client_id=f"client-{number}",
                token_service_url=server.url,
                status=Status.DEPLOYED,
                access_token="AT-0",
                refresh_token=f"RT-{number}",
                refresh_token_expiry_days=90,
                refresh_token_renewed_at=now - timedelta(days=46),
                next_refresh_at=now - timedelta(minutes=1),
            )
        with two_workers(celery_env), two_beats(settings) as errors:
            deadline = time.monotonic() + 120
            while len(server.spent) < DUE and time.monotonic() < deadline:
                time.sleep(0.5)
            time.sleep(2.0 + 2 * DELAY)  # more beats: late duplicates would show up
    assert not errors
    assert len(server.spent) == DUE, f"{len(server.spent)} of {DUE} refreshed"
    assert set(server.spent.values()) == {1}, "an artifact was refreshed twice"
    handed_out = RefreshDispatch.objects.get().handed_out
    assert DUE <= handed_out <= DUE * 1.01, f"{handed_out} handed out for {DUE} due"
    assert not OAuth2AuthorizationCode.objects.filter(next_refresh_at__lte=timezone.now()).exists()
