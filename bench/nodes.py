"""Two nodes on one PostgreSQL and Redis: 2 Celery workers and 2 beats (beat every second),
N artifacts due at once behind a token endpoint that takes 20 ms an answer, so the queue
takes longer to drain than REFRESH_DISPATCH_LEASE_SECONDS (30 s here). Counted: artifacts
handed out by the beats (duplicates included) and refreshes per artifact at the endpoint.

Target (issue 19): every artifact refreshed exactly once, and duplicates at most 1% of the
due artifacts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from bench import common
from bench.token_server import TokenServer

BROKER = "redis://127.0.0.1:6379/12"
LEASE = 30
DELAY = 0.02


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own commands
        [sys.executable, "-m", "celery", "-A", "config", *command],
        cwd=common.ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def main() -> str:
    args = common.arguments(__doc__ or "", default=6000)
    os.environ["CELERY_BROKER_URL"] = BROKER
    common.setup()
    import redis
    from django.db import connection

    from oauthflows.models import RefreshDispatch

    count = min(args.artifacts, 600) if args.quick else args.artifacts
    redis.Redis.from_url(BROKER).flushdb()
    var = common.ROOT / "var"
    env = {
        **common.environment(),
        "CELERY_BROKER_URL": BROKER,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REFRESH_SCHEDULE_SECONDS": "1",
        "REFRESH_DISPATCH_LEASE_SECONDS": str(LEASE),
        "SECURITY_MATERIAL_VAR_DIR": str(var),
    }
    with TokenServer(delay=DELAY) as server:
        common.seed(count, due=count, token_url=server.url)
        RefreshDispatch.objects.all().delete()
        due = count - count // 50
        started = time.monotonic()
        with ExitStack() as stack:
            for node in ("one", "two"):
                log = var / f"bench-node-{node}-worker.log"
                worker = start(
                    [
                        *("worker", "--loglevel", "WARNING", "--concurrency", "1"),
                        *("--hostname", f"{node}@%h", "--without-mingle", "--without-gossip"),
                    ],
                    env,
                    log,
                )
                stack.callback(worker.wait, 60)
                stack.callback(worker.terminate)
            for node in ("one", "two"):
                schedule = var / f"bench-node-{node}-beat"
                schedule.unlink(missing_ok=True)
                beat = start(
                    ["beat", "--loglevel", "WARNING", "--schedule", str(schedule)],
                    env,
                    var / f"bench-node-{node}-beat.log",
                )
                stack.callback(beat.wait, 60)
                stack.callback(beat.terminate)
            deadline = time.monotonic() + 1800
            while len(server.spent) < due and time.monotonic() < deadline:
                time.sleep(1)
            drained = time.monotonic() - started
            time.sleep(5)  # a few more beats: late duplicates would show
        handed_out = RefreshDispatch.objects.get().handed_out
        spent = dict(server.spent)
    connection.close()
    once = len(spent) == due and set(spent.values()) == {1}
    duplicates = handed_out - due
    met = once and duplicates <= 0.01 * due
    report = common.table(
        [
            [
                "artifacts due",
                "drained in s",
                "handed out",
                "duplicates",
                "refreshed once each",
                "target: once, duplicates ≤ 1%",
            ],
            [
                f"{due:,}",
                f"{drained:.0f}",
                f"{handed_out:,}",
                f"{duplicates:,} ({duplicates / due:.1%})",
                "yes" if once else f"**no**: {sum(spent.values()):,} refreshes",
                "met" if met else "**not met**",
            ],
        ]
    ) + (
        f"\n\n2 workers (1 process each) and 2 beats (every second) on one PostgreSQL and "
        f"Redis; the endpoint answers in {DELAY * 1000:.0f} ms, the lease is {LEASE} s. Load "
        f"average (1 min) at the end: {os.getloadavg()[0]:.1f}."
    )
    print(report)
    return report


if __name__ == "__main__":
    main()
