"""The token API under gunicorn with the production settings (2 x cores + 1 workers), driven
by wrk at 1, 8 and 64 connections, against a bare JSON view in the same processes answering
a constant. Two workloads: random names over every deployed artifact, and a hot set of 20
names (a deployment with a few busy integrations). Baseline and token API alternate, A B
A B, and each ratio is the median of the rounds' ratios (the machine is shared and noisy).

Load generator: Debian's wrk (installed when missing). It is written in C and uses a few
threads, so on a small machine it takes less CPU from the server than a Python generator
would, and it reports latency percentiles itself.

Targets (issue 19): random names at 64 connections at least 25% of the baseline's
requests/s; the hot set at least 50% at 1 and at 64; at 64 a p99 at most 3x the baseline's.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from bench import common

CONCURRENCY = (1, 8, 64)
HOT_SET = 20  # a deployment with a few busy integrations
# Requests/s of the token API against the bare view's, by (connections, names).
TARGETS = {(64, "random"): 0.25, (1, "hot"): 0.5, (64, "hot"): 0.5}
Run = tuple[float, float, float]


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk:
        return wrk
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)  # noqa: S603
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)  # noqa: S603
    return shutil.which("wrk") or "wrk"


def start_gunicorn(workers: int) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(  # noqa: S603 - our own app
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--config",
            "python:config.gunicorn",
            "--bind",
            "127.0.0.1:0",
            "--workers",
            str(workers),
            "--no-control-socket",
            "--access-logfile",
            "/dev/null",
        ],
        cwd=common.ROOT,
        env=common.environment(),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        match = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", line)
        if match:
            booted = 0
            for rest in process.stderr:  # wait until every worker has booted
                booted += "Booting worker" in rest
                if booted >= workers:
                    break
            # Keep reading what it says: a full pipe would stall the workers.
            threading.Thread(target=_drain, args=(process.stderr,), daemon=True).start()
            return process, match.group(1)
    raise RuntimeError("gunicorn did not start")


def _drain(stream: IO[str]) -> None:
    for _ in stream:
        pass


def run_wrk(
    wrk: str,
    url: str,
    script: str,
    connections: int,
    seconds: int,
    env: dict[str, str],
    *,
    check_ok: bool = True,
) -> tuple[float, float, float]:
    """Requests/s, p50 and p99 in ms."""
    out = subprocess.run(  # noqa: S603
        [
            wrk,
            f"-t{min(connections, 2)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(Path(__file__).with_name(script)),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    if not check_ok:
        return 0.0, 0.0, 0.0
    assert "Non-2xx" not in out and "Socket errors" not in out, out
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rate, _percentile(out, "50%"), _percentile(out, "99%")


def _percentile(out: str, which: str) -> float:
    value, unit = re.search(rf"{which}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def peak_rss_mb(process: subprocess.Popen[str]) -> float:
    """The largest peak resident set (VmHWM) among the server's workers."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    peaks = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        peaks.append(int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024)  # type: ignore[union-attr]
    return max(peaks)


def main() -> str:
    args = common.arguments(__doc__ or "")
    common.setup()
    from api.models import ApiToken
    from securitymaterial.models import Artifact, Status

    wrk = ensure_wrk()
    seconds = 2 if args.quick else 5
    rounds = 1 if args.quick else 3
    common.seed(args.artifacts)
    deployed = list(Artifact.objects.filter(status=Status.DEPLOYED).values_list("name", flat=True))
    files = {}
    for workload, names in (("random", deployed), ("hot", random.sample(deployed, HOT_SET))):
        files[workload] = common.ROOT / "var" / f"bench-names-{workload}.txt"
        files[workload].write_text("\n".join(names))
    ApiToken.objects.filter(name="bench").delete()
    _, secret = ApiToken.create("bench")
    env = {**os.environ, "API_TOKEN": secret}
    workers = 2 * (os.cpu_count() or 1) + 1
    server, url = start_gunicorn(workers)
    # Per connection count and workload, one (baseline, subject) pair per round: the
    # baseline runs right before its subject, so the machine's noise hits both alike.
    pairs: dict[tuple[int, str], list[tuple[Run, Run]]] = {}
    loads: list[float] = []
    try:
        # Warm up: every worker imports the app after it is forked, and the first requests
        # fill the caches a running service has.
        for workload in ("random", "hot"):
            run_wrk(wrk, url, "constant.lua", 16, 2, env, check_ok=False)
            names_env = {**env, "NAMES_FILE": str(files[workload])}
            run_wrk(wrk, url, "names.lua", 16, 3 if args.quick else 5, names_env, check_ok=False)
        for _ in range(rounds):
            for connections in CONCURRENCY:
                for workload in ("random", "hot"):
                    names_env = {**env, "NAMES_FILE": str(files[workload])}
                    base = run_wrk(wrk, url, "constant.lua", connections, seconds, env)
                    subject = run_wrk(wrk, url, "names.lua", connections, seconds, names_env)
                    pairs.setdefault((connections, workload), []).append((base, subject))
                    loads.append(os.getloadavg()[0])
        rss = peak_rss_mb(server)
    finally:
        server.terminate()
        server.wait(timeout=30)
    rows = [
        [
            "connections",
            "names",
            "baseline req/s",
            "token API req/s",
            "ratio (median of rounds)",
            "baseline p99 ms",
            "token API p99 ms",
            "p99 ratio",
            "target",
        ]
    ]
    for (connections, workload), runs in pairs.items():
        ratio = statistics.median(subject[0] / base[0] for base, subject in runs)
        p99_ratio = statistics.median(subject[2] / base[2] for base, subject in runs)
        goal = TARGETS.get((connections, workload))
        verdict = ""
        if goal is not None:
            ok = ratio >= goal and (connections != 64 or p99_ratio <= 3)
            p99_goal = ", p99 ≤ 3x" if connections == 64 else ""
            verdict = f"≥ {goal:.0%}{p99_goal}: " + ("met" if ok else "**not met**")
        rows.append(
            [
                str(connections),
                "random of all" if workload == "random" else f"hot set of {HOT_SET}",
                f"{statistics.median(base[0] for base, _ in runs):,.0f}",
                f"{statistics.median(subject[0] for _, subject in runs):,.0f}",
                f"{ratio:.0%}",
                f"{statistics.median(base[2] for base, _ in runs):.1f}",
                f"{statistics.median(subject[2] for _, subject in runs):.1f}",
                f"{p99_ratio:.1f}x",
                verdict,
            ]
        )
    report = common.table(rows) + (
        f"\n\n{workers} gunicorn workers; {rounds} rounds of {seconds} s per cell, baseline and "
        f"token API interleaved; load average (1 min) during the runs "
        f"{min(loads):.1f} to {max(loads):.1f}; peak RSS of a worker: {rss:.0f} MB."
    )
    print(report)
    return report


if __name__ == "__main__":
    main()
