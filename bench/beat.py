"""Beat's scheduling query: which artifacts are due, at 1,000 and at N artifacts with 100
due, and its PostgreSQL plan.

Target: an index scan, and a time independent of the total (at most 2x from 1,000 to N).
"""

from __future__ import annotations

from bench import common

DUE = 100


def measure(repeat: int) -> tuple[float, str]:
    from django.db import connection
    from django.utils import timezone

    from oauthflows import refresh
    from securitymaterial.models import OAuth2AuthorizationCode

    now = timezone.now()
    assert len(refresh.due_artifacts(now)) == DUE
    query = (
        OAuth2AuthorizationCode.objects.filter(next_refresh_at__lte=now)
        .order_by("next_refresh_at")
        .values_list("pk", flat=True)[:1000]
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return common.median_ms(lambda: refresh.due_artifacts(now), repeat), plan


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
