"""The Security Material list and the Integrations page (its tile counts) at 10 artifacts and
at N: query count and median render time, in process through the whole middleware stack.

Target: the same query count at both sizes, and at most 2x the time of the 10-artifact page.
"""

from __future__ import annotations

from functools import partial

from bench import common


def measure(repeat: int) -> dict[str, tuple[int, float]]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from securitymaterial.models import Artifact

    user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "bench@example.com", "bench-password"
    )
    client = Client()
    client.force_login(user)
    pages = (Artifact.objects.count() + 24) // 25
    urls = {
        "Integrations page (tile counts)": "/monitor/integrations/",
        "list, first page": "/monitor/integrations/security-material/",
        "list, a page in the middle": (
            f"/monitor/integrations/security-material/?page={max(pages // 2, 1)}"
        ),
        "list, name filter": "/monitor/integrations/security-material/?q=Bench_0000007",
        "list, type filter": "/monitor/integrations/security-material/?type=user-credentials",
        "list, sorted by status": "/monitor/integrations/security-material/?sort=status",
    }
    results = {}
    for what, url in urls.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        results[what] = (len(queries), common.median_ms(partial(client.get, url), repeat))
    return results


def main() -> str:
    args = common.arguments(__doc__ or "")
    common.setup()
    repeat = 5 if args.quick else 25
    common.seed(10)
    small = measure(repeat)
    common.seed(args.artifacts)
    large = measure(repeat)
    rows = [
        [
            "path",
            "queries (10)",
            "ms (10)",
            f"queries ({args.artifacts:,})",
            f"ms ({args.artifacts:,})",
            "ratio",
            "target ≤ 2x, same queries",
        ]
    ]
    for what, (queries, ms) in small.items():
        big_queries, big_ms = large[what]
        ok = big_queries == queries and big_ms <= 2 * ms
        rows.append(
            [
                what,
                str(queries),
                f"{ms:.1f}",
                str(big_queries),
                f"{big_ms:.1f}",
                f"{big_ms / ms:.2f}x",
                "met" if ok else "**not met**",
            ]
        )
    report = common.table(rows)
    print(report)
    return report


if __name__ == "__main__":
    main()
