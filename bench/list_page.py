"""The Security Material list and the Integrations page (its tile counts) at 10 artifacts and
at N: query count and median render time, in process through the whole middleware stack.

Target: the same query count at both sizes, and at most 2x the time of the 10-artifact page.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
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


def urls() -> dict[str, str]:
    from securitymaterial.models import Artifact

    return {
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


def use(database: str) -> None:
    """Point the process's connection at another of the bench databases."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = database


def client() -> Any:
    from django.contrib.auth.models import User
    from django.test import Client

    user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "bench@example.com", "bench-password"
    )
    browser = Client()
    browser.force_login(user)
    return browser


def queries(browser: Any, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = browser.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


def main() -> str:
    args = common.arguments(__doc__ or "")
    common.setup()
    from django.db import connection

    repeat = 5 if args.quick else 15
    rounds = 1 if args.quick else 3
    large_db = connection.settings_dict["NAME"]
    small_db = f"{large_db}_small"
    # Two databases, 10 artifacts and N, measured in turns (the machine is shared and noisy).
    subprocess.run(
        [sys.executable, "-c", "from bench import common; common.setup(); common.seed(10)"],
        cwd=common.ROOT,
        env={
            **os.environ,
            "BENCH_DATABASE_URL": common.DEFAULT_URL.rsplit("/", 1)[0] + "/" + small_db,
        },
        check=True,
    )
    common.seed(args.artifacts)
    plan: dict[str, dict[str, str]] = {}
    browsers: dict[str, Any] = {}
    counts: dict[tuple[str, str], int] = {}
    for database in (small_db, large_db):
        use(database)
        browsers[database] = client()
        plan[database] = urls()
        for what, url in plan[database].items():
            counts[database, what] = queries(browsers[database], url)
    samples: dict[tuple[str, str], list[float]] = {}
    loads = []
    for _ in range(rounds):
        for what in plan[large_db]:
            for database in (small_db, large_db):
                use(database)
                get = partial(browsers[database].get, plan[database][what])
                samples.setdefault((database, what), []).append(common.median_ms(get, repeat))
        loads.append(os.getloadavg()[0])
    rows = [
        [
            "path",
            "queries (10)",
            "ms (10)",
            f"queries ({args.artifacts:,})",
            f"ms ({args.artifacts:,})",
            "ratio (median of rounds)",
            "target ≤ 2x, same queries",
        ]
    ]
    for what in plan[large_db]:
        small, large = samples[small_db, what], samples[large_db, what]
        ratio = statistics.median(b / a for a, b in zip(small, large, strict=True))
        same = counts[small_db, what] == counts[large_db, what]
        rows.append(
            [
                what,
                str(counts[small_db, what]),
                f"{statistics.median(small):.1f}",
                str(counts[large_db, what]),
                f"{statistics.median(large):.1f}",
                f"{ratio:.2f}x",
                "met" if same and ratio <= 2 else "**not met**",
            ]
        )
    use(large_db)
    report = common.table(rows) + (
        f"\n\n{rounds} rounds of {repeat} requests per page and size, the two sizes in turns; "
        f"load average (1 min) {min(loads):.1f} to {max(loads):.1f}. A page at 10 artifacts "
        "shows its 10 rows (4 in the middle, after the fifth); at N, 25."
    )
    print(report)
    return report


if __name__ == "__main__":
    main()
