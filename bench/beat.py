"""Beat's dispatch query (oauthflows.refresh.dispatchable: due, not queued, locked with
SKIP LOCKED): at 1,000 and at N artifacts with 100 due, and its PostgreSQL plan.

Target: an index scan, and a time independent of the total (at most 2x from 1,000 to N).
"""

from __future__ import annotations

from bench import common

DUE = 100


def measure(repeat: int) -> tuple[float, str]:
    from django.db import connection, transaction
    from django.utils import timezone

    from oauthflows import refresh
    from oauthflows.models import RefreshDispatch

    now = timezone.now()
    progress = RefreshDispatch(started_round=5, started_at=now)

    def dispatchable() -> list[int]:
        with transaction.atomic():
            return list(refresh.dispatchable(now, progress)[: refresh.DISPATCH_LIMIT])

    assert len(dispatchable()) == DUE
    with transaction.atomic(), connection.cursor() as cursor:  # FOR UPDATE needs one
        query = refresh.dispatchable(now, progress)[: refresh.DISPATCH_LIMIT]
        sql, params = query.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return common.median_ms(dispatchable, repeat), plan


def main() -> str:
    args = common.arguments(__doc__ or "")
    common.setup()
    repeat = 10 if args.quick else 50
    common.seed(min(1000, args.artifacts), due=DUE)
    small, _ = measure(repeat)
    common.seed(args.artifacts, due=DUE)
    large, plan = measure(repeat)
    index_scan = "Index" in plan and "Seq Scan" not in plan
    met = index_scan and large <= 2 * small
    report = (
        common.table(
            [
                ["artifacts", "due", "median ms", "ratio", "target: index scan, ≤ 2x"],
                [f"{min(1000, args.artifacts):,}", str(DUE), f"{small:.2f}", "1.00x", ""],
                [
                    f"{args.artifacts:,}",
                    str(DUE),
                    f"{large:.2f}",
                    f"{large / small:.2f}x",
                    "met" if met else "**not met**",
                ],
            ]
        )
        + f"\n\nPlan at {args.artifacts:,}:\n\n```\n{plan}\n```"
    )
    print(report)
    return report


if __name__ == "__main__":
    main()
