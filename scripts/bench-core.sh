#!/usr/bin/env bash
# The core engine against tower-http's CorsLayer (criterion), printed as the BENCHMARKS.md table.
# Criterion measures one case after another, so a burst of load on a shared machine lands on
# some cases and not others: the whole suite runs several times (default 3) and each cell is the
# median of its runs' medians. Compare the ratios, not the absolute times.
# Usage: scripts/bench-core.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --no-run --bench evaluate >/dev/null 2>&1 || cargo bench --no-run --bench evaluate
exec python3 - "${1:-3}" <<'PY'
import json, os, pathlib, statistics, subprocess, sys
runs = int(sys.argv[1])
sizes, groups = [1, 100, 10000], ["preflight", "actual"]
rows = ["corsguard-decision", "corsguard-http-response", "tower-http"]
medians = {}
print(f"load average at the start: {os.getloadavg()[0]:.2f}", file=sys.stderr)
for run in range(runs):
    subprocess.run(["cargo", "bench", "--bench", "evaluate"], check=True, capture_output=True)
    for group in groups:
        for row in rows:
            for size in sizes:
                path = pathlib.Path("target/criterion", group, row, str(size), "new/estimates.json")
                medians.setdefault((group, row, size), []).append(json.loads(path.read_text())["median"]["point_estimate"])
    print(f"run {run + 1}/{runs} done", file=sys.stderr)
print(f"load average at the end: {os.getloadavg()[0]:.2f}", file=sys.stderr)
cell = {key: statistics.median(values) for key, values in medians.items()}
print(f"Medians of {runs} runs.\n")
print("| request | origins | corsguard decision | corsguard + http::Response | tower-http | tower-http / decision | tower-http / http::Response |")
print("|---|---:|---:|---:|---:|---:|---:|")
for group in groups:
    for size in sizes:
        d, h, t = (cell[(group, row, size)] for row in rows)
        print(f"| {group} | {size} | {d:.0f} ns | {h:.0f} ns | {t:.0f} ns | {t/d:.2f}x | {t/h:.2f}x |")
for group in groups:
    ratio = cell[(group, "corsguard-decision", 10000)] / cell[(group, "corsguard-decision", 1)]
    print(f"\n{group}: corsguard with 10,000 origins / 1 origin = {ratio:.2f}x")
# The goal's ratio, run by run, to show its spread.
spread = sorted(t / d for d, t in zip(medians[("preflight", rows[0], 1)], medians[("preflight", rows[2], 1)]))
print(f"\npreflight, 1 origin, tower-http / decision in each run: {', '.join(f'{r:.2f}x' for r in spread)}")
PY
