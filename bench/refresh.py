"""Refresh throughput: N artifacts all due, a local token server (bench.token_server), the
Redis broker and 2 Celery worker processes, against a plain loop in one process doing the
same HTTP calls and the same encrypted writes without Celery.

Targets (issue 19): refresh_artifact in a loop at least 60% of the loop's rate; through
Celery (2 worker processes on 2 cores) at least 40%; every artifact refreshed exactly once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench import common
from bench.token_server import TokenServer

BROKER = "redis://127.0.0.1:6379/14"


def baseline(server: TokenServer, count: int) -> float:
    """The same work, no Celery: POST the refresh, encrypt the tokens, UPDATE the row."""
    import requests
    from django.db import connection, transaction

    from securitymaterial import crypto

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT artifact_ptr_id FROM securitymaterial_oauth2authorizationcode"
            " WHERE next_refresh_at <= now() ORDER BY artifact_ptr_id"
        )
        pks = [row[0] for row in cursor.fetchall()]
    session = requests.Session()
    start = time.perf_counter()
    for pk in pks:
        form = {"grant_type": "refresh_token", "refresh_token": f"loop-{pk}"}
        answer = session.post(server.url, data=form, timeout=10).json()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE securitymaterial_oauth2authorizationcode SET access_token = %s,"
                " refresh_token = %s, next_refresh_at = now() + interval '45 days'"
                " WHERE artifact_ptr_id = %s",
                [
                    crypto.encrypt(answer["access_token"]),
                    crypto.encrypt(answer["refresh_token"]),
                    pk,
                ],
            )
    return len(pks) / (time.perf_counter() - start)


def service_loop(count: int) -> float:
    """What a worker runs, in one process without Celery: refresh_artifact per due artifact
    (the row locks, the re-read, the checks, the audit of failures)."""
    from django.utils import timezone

    from oauthflows import refresh

    start = time.perf_counter()
    done = 0
    while pks := refresh.due_artifacts(timezone.now()):  # at most 1,000 at a time
        for pk in pks:
            done += refresh.refresh_artifact(pk).action == "refreshed"
    assert done == count, (done, count)
    return done / (time.perf_counter() - start)


def with_celery(server: TokenServer, count: int) -> tuple[float, float]:
    """Refreshes per second through beat's dispatch and 2 worker processes; peak worker RSS."""
    from django.db import connection
    from django.utils import timezone

    from oauthflows import refresh, tasks

    env = {
        **common.environment(),
        "CELERY_BROKER_URL": BROKER,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            "--pool",
            "prefork",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=common.ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        text=True,
        stderr=(common.ROOT / "var" / "bench-worker.log").open("w"),
    )
    log = common.ROOT / "var" / "bench-worker.log"
    try:
        deadline = time.monotonic() + 120
        while "ready." not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)  # its own log says when it takes messages
        start = time.perf_counter()
        while refresh.dispatch_due(timezone.now(), tasks.refresh_credentials.delay):
            pass
        last_progress, previous = time.monotonic(), None
        while time.monotonic() - last_progress < 30:  # stop when nothing moves for 30 s
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM securitymaterial_oauth2authorizationcode"
                    " WHERE refresh_token_renewed_at < now() - interval '1 day'"
                    " AND artifact_ptr_id IN (SELECT id FROM securitymaterial_artifact"
                    " WHERE status = 'deployed')"
                )
                (left,) = cursor.fetchone()
            if not left:
                break
            if left != previous:
                last_progress, previous = time.monotonic(), left
            time.sleep(0.2)
        rate = count / (time.perf_counter() - start)
        from bench.token_api import peak_rss_mb

        rss = peak_rss_mb(worker)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    return rate, rss


def main() -> str:
    args = common.arguments(__doc__ or "", default=10_000)
    os.environ["CELERY_BROKER_URL"] = BROKER  # before the settings are read
    common.setup()
    count = min(args.artifacts, 500) if args.quick else args.artifacts
    with TokenServer() as server:
        common.seed(count, due=count, token_url=server.url)
        deployed = count - count // 50
        loop_rate = baseline(server, deployed)
        common.seed(count, due=count, token_url=server.url)
        service_rate = service_loop(deployed)
        common.seed(count, due=count, token_url=server.url)
        server.spent.clear()
        celery_rate, rss = with_celery(server, deployed)
        once = len(server.spent) == deployed and set(server.spent.values()) == {1}
    ratio = celery_rate / loop_rate
    met = ratio >= 0.4 and service_rate / loop_rate >= 0.6 and once
    service = f"{service_rate:,.0f} ({service_rate / loop_rate:.0%})"
    spent = "yes" if once else f"**no**: {len(server.spent):,} tokens spent"
    report = common.table(
        [
            [
                "artifacts due",
                "loop refreshes/s",
                "refresh_artifact in a loop /s",
                "Celery refreshes/s",
                "ratio (Celery to loop)",
                "each refreshed once",
                "target: service ≥ 60%, Celery ≥ 40%, once",
            ],
            [
                f"{deployed:,}",
                f"{loop_rate:,.0f}",
                service,
                f"{celery_rate:,.0f}",
                f"{ratio:.0%}",
                spent,
                "met" if met else "**not met**",
            ],
        ]
    )
    report += (
        f"\n\n2 worker processes (prefork); peak RSS of the worker: {rss:.0f} MB. The middle "
        "column is the service a worker runs, in one process without Celery: the row locks, "
        "the re-read after them, the checks. What it costs over the loop is the service; what "
        "Celery costs over it is the queue."
    )
    print(report)
    return report


if __name__ == "__main__":
    main()
