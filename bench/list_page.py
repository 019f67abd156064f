"""The Security Material list and the Integrations page (its tile counts) at 10 artifacts and
at N: query count and median render time, in process through the whole middleware stack.

Target: the same query count at both sizes, and at most 2x the time of the 10-artifact page.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from bench import common

LIST = "/monitor/integrations/security-material/"


def middle(artifact: Any, sort: str) -> str:
    """The link to the page after the middle row of that sort (as its Next link reads)."""
    from django.http import QueryDict

    from securitymaterial import listing

    columns = listing.sort_columns(sort)
    ordering = [c.desc() if sort.startswith("-") else c.asc() for c in columns]
    keys = {f"k{n}": c for n, c in enumerate(columns)}
    rows = artifact.objects.filter(runtime="cloud").annotate(**keys).order_by(*ordering)
    count = rows.count()
    row = rows.values(*keys)[count // 2]
    params = QueryDict(mutable=True)
    params["sort"] = sort
    if len(columns) == 2:
        value = row["k0"]
        params["after"] = value.isoformat() if hasattr(value, "isoformat") else value
    params["after_name"] = row[f"k{len(columns) - 1}"]
    params["at"] = str(count // 2 + 2)
    return params.urlencode()


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
    urls = {
        "Integrations page (tile counts)": "/monitor/integrations/",
        "list, first page": LIST,
        "list, last page": LIST + "?last=1",
        **{
            f"list, a page in the middle, {sort}": LIST + "?" + middle(Artifact, sort)
            for sort in ("name", "-name", "type", "status", "deployed_by", "-deployed_on")
        },
        "list, name filter": LIST + "?q=Bench_0000007",
        "list, type filter": LIST + "?type=user-credentials",
        "list, sorted by status": LIST + "?sort=status",
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
