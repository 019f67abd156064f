"""Start-up at 10 artifacts and at N: what scripts/run and the compose file run before the
service serves (`check --fail-level ERROR`, then `migrate` with nothing pending, whose
database checks include the stored-secrets check), as separate processes, interleaved
(small, large, small, large ...) so the machine's noise hits both alike.

Target (issue 19): at N at most 2x the time at 10.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from bench import common

COMMANDS = (["check", "--fail-level", "ERROR"], ["migrate", "--noinput"])


def start_up(database_url: str) -> float:
    env = {**common.environment(), "DATABASE_URL": database_url}
    began = time.perf_counter()
    for command in COMMANDS:
        subprocess.run(  # noqa: S603 - our own command
            [sys.executable, "manage.py", *command],
            cwd=common.ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    return time.perf_counter() - began


def main() -> str:
    args = common.arguments(__doc__ or "")
    rounds = 2 if args.quick else 5
    large_url = common.database_url()
    small_url = large_url + "_small"
    for url, count in ((small_url, 10), (large_url, args.artifacts)):
        seed = f"from bench import common; common.setup(); common.seed({count})"
        subprocess.run(  # noqa: S603 - each database is set up by a process of its own
            [sys.executable, "-c", seed],
            cwd=common.ROOT,
            env={**os.environ, "BENCH_DATABASE_URL": url},
            check=True,
        )
    small, large, loads = [], [], []
    for _ in range(rounds):
        small.append(start_up(small_url))
        large.append(start_up(large_url))
        loads.append(os.getloadavg()[0])
    ratio = statistics.median(b / a for a, b in zip(small, large, strict=True))
    report = common.table(
        [
            ["artifacts", "start-up s (median)", "ratio (median of rounds)", "target ≤ 2x"],
            ["10", f"{statistics.median(small):.2f}", "1.00x", ""],
            [
                f"{args.artifacts:,}",
                f"{statistics.median(large):.2f}",
                f"{ratio:.2f}x",
                "met" if ratio <= 2 else "**not met**",
            ],
        ]
    ) + (
        f"\n\n{rounds} rounds, interleaved; load average (1 min) {min(loads):.1f} to "
        f"{max(loads):.1f}. The stored-secrets check decrypts only values whose key id is not "
        "configured (none here); `manage.py check_secrets` decrypts them all."
    )
    print(report)
    return report


if __name__ == "__main__":
    main()
