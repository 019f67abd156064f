"""The benchmarks keep working: every one runs end to end on a few hundred artifacts (seconds,
not minutes) and reports its figures and ratios. No timing is asserted: CI machines vary;
bench/results.md holds the measured figures."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.processes import ROOT

SMOKE_DATABASE = "postgres://postgres@127.0.0.1:5432/bench_smoke"


def test_every_benchmark_runs_and_reports_its_ratios() -> None:
    env = {**os.environ, "BENCH_DATABASE_URL": SMOKE_DATABASE}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--artifacts", "300", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = (ROOT / "bench" / "results-quick.md").read_text()
    for section in (
        "Token API",
        "List page",
        "Refresh throughput",
        "Beat scheduling",
        "Crypto and key rotation",
        "Start-up",
        "Two nodes",
    ):
        assert f"## {section}" in report
    assert report.count("| ratio |") >= 2 and "each refreshed once | target" in report
    assert "hot set of 20" in report and "ratio (median of rounds)" in report
    assert "list, a page in the middle, deployed_by" in report
    assert "| yes |" in report  # every artifact refreshed exactly once, even in the smoke run
