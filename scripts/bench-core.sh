#!/usr/bin/env bash
# The core engine against tower-http's CorsLayer (criterion), printed as the BENCHMARKS.md table.
# Criterion measures one case after another, so a burst of load on a shared machine lands on
# some cases and not others: the whole suite runs several times (default 3) and each cell is the
# median of its runs' medians. Compare the ratios, not the absolute times.
# Usage: scripts/bench-core.sh [runs]
#        scripts/bench-core.sh --load           (corsguard check of 100k and 1M origins, 40k headers)
#        scripts/bench-core.sh --instructions   (instructions per request under callgrind: valgrind,
#                                                from scripts/setup.sh bench)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--load" ]; then
  # Reading big policies: `corsguard check` (the whole command) and the engine's own load, wall
  # time, median of 3. OLD_CORSGUARD=path/to/an/older/corsguard adds its column (one run each).
  cargo build --locked --quiet --release -p corsguard-cli
  exec python3 - "${OLD_CORSGUARD:-}" <<'PY'
import json, pathlib, statistics, subprocess, sys, tempfile, time
new, old = "target/release/corsguard", sys.argv[1]
work = pathlib.Path(tempfile.mkdtemp(prefix="corsguard-load-"))
def policy(name, **fields):
    path = work / f"{name}.json"
    path.write_text(json.dumps({"origins": ["https://app.example.com"], **fields}, indent=1))
    return path
files = {
    "100,000 origins": policy("o100k", origins=[f"https://app{i}.example.com" for i in range(100_000)]),
    "1,000,000 origins": policy("o1m", origins=[f"https://app{i}.example.com" for i in range(1_000_000)]),
    "40,000 request headers": policy("h40k", request_headers=[f"X-H{i}" for i in range(40_000)]),
    "40,000 methods": policy("m40k", methods=[f"M{i}" for i in range(40_000)]),
}
def seconds(binary, path, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([binary, "check", str(path)], stdout=subprocess.DEVNULL, timeout=600)
        times.append(time.perf_counter() - start)
    return statistics.median(times)
print("| policy file | bytes | `corsguard check` (s) |" + (" older `corsguard check` (s) |" if old else ""))
print("|---|---:|---:|" + ("---:|" if old else ""))
for name, path in files.items():
    row = f"| {name} | {path.stat().st_size:,} | {seconds(new, path, 3):.2f} |"
    if old:
        row += f" {seconds(old, path, 1):.2f} |" if "1,000,000" not in name else " (not run: over 120 s) |"
    print(row)
PY
fi
if [ "${1:-}" = "--instructions" ]; then
  bin=$(cargo bench --locked --no-run --bench instructions --message-format=json 2>/dev/null |
    python3 -c 'import json,sys; print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("executable")][-1])')
  count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 | sed -n 's/.*Collected : //p'; }
  echo "| request | instructions per request |"
  echo "|---|---:|"
  for kind in preflight actual no-routes canonical-path hostile-path headers-1 headers-10000 label-1 label-10000; do
    echo "| $kind | $(( ($(count "$kind" 11000) - $(count "$kind" 1000)) / 10000 )) |"
  done
  echo "| longest-path | $(( ($(count longest-path 110) - $(count longest-path 10)) / 100 )) |"
  echo "| load-wildcard (per policy read, not per request) | $(( ($(count load-wildcard 11) - $(count load-wildcard 1)) / 10 )) |"
  exit 0
fi
cargo bench --locked --no-run --bench evaluate >/dev/null 2>&1 || cargo bench --locked --no-run --bench evaluate
exec python3 - "${1:-3}" <<'PY'
import json, os, pathlib, statistics, subprocess, sys
runs = int(sys.argv[1])
sizes, groups = [1, 100, 10000], ["preflight", "actual"]
rows = ["corsguard-decision", "corsguard-http-response", "tower-http"]
route_rows = ["no-routes", "canonical-path", "hostile-path"]
medians = {}
print(f"load average at the start: {os.getloadavg()[0]:.2f}", file=sys.stderr)
for run in range(runs):
    subprocess.run(["cargo", "bench", "--locked", "--bench", "evaluate"], check=True, capture_output=True)
    cells = [(g, r, s) for g in groups for r in rows for s in sizes] + [("routes", r, 1) for r in route_rows]
    cells += [("label-patterns", "corsguard-decision", s) for s in (1, 10000)]
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
one, many = (cell[("label-patterns", "corsguard-decision", s)] for s in (1, 10000))
print(f"\npreview-deployment patterns: 1 pattern {one:.0f} ns, 10,000 patterns {many:.0f} ns, ratio {many / one:.2f}x")
# The goal's ratio, run by run, to show its spread.
spread = sorted(t / d for d, t in zip(medians[("preflight", rows[0], 1)], medians[("preflight", rows[2], 1)]))
print(f"\npreflight, 1 origin, tower-http / decision in each run: {', '.join(f'{r:.2f}x' for r in spread)}")
PY
