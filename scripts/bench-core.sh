#!/usr/bin/env bash
# The core engine against tower-http's CorsLayer (criterion), printed as the BENCHMARKS.md table.
# All rows come from one run: compare the ratios, not the absolute times.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench evaluate >/dev/null 2>&1 || cargo bench --bench evaluate
python3 - <<'PY'
import json, pathlib
def median(group, row, size):
    path = pathlib.Path("target/criterion", group, row, str(size), "new/estimates.json")
    return json.loads(path.read_text())["median"]["point_estimate"]
sizes = [1, 100, 10000]
print("| request | origins | corsguard decision | corsguard + http::Response | tower-http | tower-http / decision | tower-http / http::Response |")
print("|---|---:|---:|---:|---:|---:|---:|")
for group in ["preflight", "actual"]:
    for size in sizes:
        d, h, t = (median(group, row, size) for row in ["corsguard-decision", "corsguard-http-response", "tower-http"])
        print(f"| {group} | {size} | {d:.0f} ns | {h:.0f} ns | {t:.0f} ns | {t/d:.2f}x | {t/h:.2f}x |")
for group in ["preflight", "actual"]:
    ratio = median(group, "corsguard-decision", 10000) / median(group, "corsguard-decision", 1)
    print(f"\n{group}: corsguard with 10,000 origins / 1 origin = {ratio:.2f}x")
PY
