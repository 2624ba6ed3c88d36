#!/usr/bin/env bash
# The core engine against tower-http's CorsLayer (criterion), printed as the BENCHMARKS.md table.
# Criterion measures one case after another, so a burst of load on a shared machine lands on
# some cases and not others: the whole suite runs several times (default 3) and each cell is the
# median of its runs' medians. Compare the ratios, not the absolute times.
# Usage: scripts/bench-core.sh [runs]
#        scripts/bench-core.sh --instructions   (instructions per request under callgrind: valgrind,
#                                                from scripts/setup.sh bench)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--instructions" ]; then
  bin=$(cargo bench --no-run --bench instructions --message-format=json 2>/dev/null |
    python3 -c 'import json,sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("executable")][-1])')
  count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 | sed -n 's/.*Collected : //p'; }
  echo "| request | instructions per request |"
  echo "|---|---:|"
  for kind in preflight actual no-routes canonical-path hostile-path; do
    echo "| $kind | $(( ($(count "$kind" 11000) - $(count "$kind" 1000)) / 10000 )) |"
  done
  echo "| longest-path | $(( ($(count longest-path 110) - $(count longest-path 10)) / 100 )) |"
  exit 0
fi
cargo bench --no-run --bench evaluate >/dev/null 2>&1 || cargo bench --no-run --bench evaluate
exec python3 - "${1:-3}" <<'PY'
import json, os, pathlib, statistics, subprocess, sys
runs = int(sys.argv[1])
sizes, groups = [1, 100, 10000], ["preflight", "actual"]
rows = ["corsguard-decision", "corsguard-http-response", "tower-http"]
route_rows = ["no-routes", "canonical-path", "hostile-path"]
medians = {}
print(f"load average at the start: {os.getloadavg()[0]:.2f}", file=sys.stderr)
for run in range(runs):
    subprocess.run(["cargo", "bench", "--bench", "evaluate"], check=True, capture_output=True)
    cells = [(g, r, s) for g in groups for r in rows for s in sizes] + [("routes", r, 1) for r in route_rows]
    for group, row, size in cells:
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
print("\nChoosing a route (an actual request; the decision only):\n")
print("| policy and path | decision | / no routes |")
print("|---|---:|---:|")
for row in route_rows:
    d = cell[("routes", row, 1)]
    print(f"| {row} | {d:.0f} ns | {d / cell[('routes', 'no-routes', 1)]:.2f}x |")
# The goal's ratio, run by run, to show its spread.
spread = sorted(t / d for d, t in zip(medians[("preflight", rows[0], 1)], medians[("preflight", rows[2], 1)]))
print(f"\npreflight, 1 origin, tower-http / decision in each run: {', '.join(f'{r:.2f}x' for r in spread)}")
PY
