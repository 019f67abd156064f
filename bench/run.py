"""Every benchmark, one after the other; writes bench/results.md.

python -m bench.run [--artifacts 100000] [--quick]
"""

from __future__ import annotations

import datetime
import subprocess
import sys
import time

from bench import common

BENCHMARKS = [
    ("Token API", "bench.token_api", None),
    ("List page and tile counts", "bench.list_page", None),
    ("Refresh throughput", "bench.refresh", 10_000),
    ("Beat scheduling cost", "bench.beat", None),
    ("Crypto and key rotation", "bench.crypto", None),
    ("Start-up", "bench.startup", None),
    ("Two nodes", "bench.nodes", 6_000),
]


def main() -> None:
    args = common.arguments(__doc__ or "")
    sections, started = [], time.monotonic()
    for title, module, cap in BENCHMARKS:
        count = min(args.artifacts, cap) if cap else args.artifacts
        command = [sys.executable, "-m", module, "--artifacts", str(count)]
        if args.quick:
            command.append("--quick")
        print(f"== {title} ({count:,} artifacts)", flush=True)
        begun = time.monotonic()
        result = subprocess.run(command, cwd=common.ROOT, capture_output=True, text=True)  # noqa: S603
        if result.returncode != 0:
            print(result.stdout, result.stderr, file=sys.stderr)
            raise SystemExit(f"{module} failed")
        report = result.stdout.strip()
        print(report, flush=True)
        sections.append(
            f"## {title} ({count:,} artifacts, {time.monotonic() - begun:.0f} s)\n\n"
            f"`python -m {module} --artifacts {count}`\n\n{report}\n"
        )
    common.setup()
    header = (
        "# Benchmark results\n\n"
        f"{datetime.date.today().isoformat()}, {common.machine()}.\n\n"
        f"All benchmarks in {time.monotonic() - started:.0f} s"
        f"{' (a quick smoke run: figures not meaningful)' if args.quick else ''}. "
        "Ratios compare against a baseline measured in the same run on the same machine.\n\n"
    )
    output = common.ROOT / "bench" / ("results-quick.md" if args.quick else "results.md")
    output.write_text(header + "\n".join(sections))
    print(f"Wrote {output.relative_to(common.ROOT)}")


if __name__ == "__main__":
    main()
