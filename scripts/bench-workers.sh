#!/usr/bin/env bash
# Cloudflare Workers benchmark: corsguard's Rust Worker, a JavaScript Worker using Hono's `cors`
# middleware with the same policy, and a plain pass-through Worker, side by side in one local workerd
# (with a fourth Worker as their origin), in interleaved runs of wrk: a preflight and a simple GET with
# Origin. Prints the BENCHMARKS.md tables: medians over the rounds (requests/s, latency, workerd CPU
# per request), the corsguard/Hono ratios (median of the per-round ratios, with their range), and
# the .wasm sizes.
# Usage: scripts/bench-workers.sh [rounds=5] [seconds per run=5] [connections=16]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export WRANGLER_SEND_METRICS=false
command -v wrk >/dev/null || { echo "wrk is missing: run scripts/setup.sh bench" >&2; exit 1; }
python=.tools/venv/bin/python
[ -x "$python" ] || python=python3

exec "$python" - "${1:-5}" "${2:-5}" "${3:-16}" <<'EOF'
import gzip
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, "tests/e2e")
import harness
import workers_edge
import wrk_load

rounds, seconds, connections = (int(a) for a in sys.argv[1:4])
ROOT = workers_edge.ROOT
POLICY, ORIGIN, SCENARIOS = wrk_load.POLICY, wrk_load.ORIGIN, wrk_load.SCENARIOS
CONTENDERS = ["corsguard", "hono", "passthrough"]

missing = workers_edge.missing()
if missing:
    sys.exit(f"missing: {', '.join(missing)}: run scripts/setup.sh workers")
print("building corsguard's Worker ...", file=sys.stderr)
workers_edge.build()
wasm = pathlib.Path(workers_edge.corsguard()["modules"][-1]["path"]).read_bytes()
shim = pathlib.Path(workers_edge.corsguard()["modules"][0]["path"])

tmp = tempfile.TemporaryDirectory(prefix="corsguard-bench-")
out = pathlib.Path(tmp.name)
subprocess.run([str(ROOT / "node_modules/.bin/esbuild"), str(ROOT / "cloudflare/bench/hono.js"), "--bundle",
                "--format=esm", "--minify", "--platform=neutral", f"--outfile={out / 'hono.js'}", "--log-level=warning"],
               check=True, timeout=120)


def js(path):
    return [{"type": "ESModule", "path": str(path)}]


workers = {
    "origin": {"modules": js(ROOT / "cloudflare/bench/origin.js")},
    "corsguard": workers_edge.corsguard(),
    "hono": {"modules": js(out / "hono.js")},
    "passthrough": {"modules": js(ROOT / "cloudflare/bench/passthrough.js")},
}
# workerd (and its node launcher) on CPU 0, wrk on CPU 1, as in the Envoy benchmark.
PIN = os.cpu_count() >= 2 and shutil.which("taskset") is not None
for name in CONTENDERS:
    workers[name]["bindings"] = {"CORS_POLICY": json.dumps(POLICY),
                                 "UPSTREAM": lambda ports: f"http://127.0.0.1:{ports['origin']}"}
edge = workers_edge.Workerd(workers, prefix=["taskset", "-c", "0"] if PIN else None)


def wrk(port, script, duration):
    cpu = edge.cpu_seconds()
    rps, p50, p99, requests = wrk_load.run(f"http://127.0.0.1:{port}/api", script, duration, connections,
                                           ["taskset", "-c", "1"] if PIN else [])
    return rps, p50, p99, (edge.cpu_seconds() - cpu) / requests * 1e6


results = {(c, s): [] for c in CONTENDERS for s in SCENARIOS}
with edge:
    scripts = {s: wrk_load.script(out, method, headers) for s, (method, headers) in SCENARIOS.items()}
    # Each contender must do its job before it is timed.
    for name in CONTENDERS:
        port = edge.ports[name]
        status, headers, _ = harness.send(port, {"method": "OPTIONS", "path": "/api", "headers": SCENARIOS["preflight"][1]})
        allow = dict((k.lower(), v) for k, v in headers).get("access-control-allow-origin")
        want = (204, ORIGIN) if name != "passthrough" else (200, "https://upstream.invalid")
        assert (status, allow) == want, (name, status, headers)
        status, headers, body = harness.send(port, {"path": "/api", "headers": {"Origin": ORIGIN}})
        allow = dict((k.lower(), v) for k, v in headers).get("access-control-allow-origin")
        assert (status, body) == (200, b"upstream") and allow == (ORIGIN if name != "passthrough" else "https://upstream.invalid"), (name, headers)
    for name in CONTENDERS:  # warm-up: JIT, connection pools
        for scenario in SCENARIOS:
            wrk(edge.ports[name], scripts[scenario], 2)
    for r in range(rounds):
        for scenario in SCENARIOS:
            order = CONTENDERS[r % 3:] + CONTENDERS[:r % 3]  # interleaved, each first in turn
            for name in order:
                results[(name, scenario)].append(wrk(edge.ports[name], scripts[scenario], seconds))
                print(f"round {r + 1}/{rounds} {scenario:16} {name:12} {results[(name, scenario)][-1]}", file=sys.stderr)


def median(name, scenario, i):
    return statistics.median(run[i] for run in results[(name, scenario)])


workerd = json.loads((ROOT / "node_modules/workerd/package.json").read_text())["version"]
hono = json.loads((ROOT / "node_modules/hono/package.json").read_text())["version"]
load = os.getloadavg()[0]
print(f"workerd {workerd} (through miniflare's API, as wrangler dev runs it){' on CPU 0' if PIN else ''}, Hono {hono}, "
      f"wrk -t1 -c{connections}{' on CPU 1' if PIN else ''}; {rounds} interleaved rounds of {seconds} s per cell; "
      f"load average {load:.1f} at the end; medians over the rounds.\n")
print("| request | Worker | requests/s | p50 (ms) | p99 (ms) | workerd CPU per request |")
print("|---|---|---:|---:|---:|---:|")
LABELS = {"corsguard": "corsguard (Rust/Wasm)", "hono": "Hono `cors` (JavaScript)", "passthrough": "pass-through (no CORS)"}
for scenario in SCENARIOS:
    for name in CONTENDERS:
        print(f"| {scenario} | {LABELS[name]} | {median(name, scenario, 0):,.0f} | {median(name, scenario, 1):.2f} | "
              f"{median(name, scenario, 2):.2f} | {median(name, scenario, 3):.0f} µs |")
print("\n| request | corsguard / Hono (req/s) | corsguard − Hono (CPU/request) |")
print("|---|---:|---:|")
for scenario in SCENARIOS:
    pairs = list(zip(results[("corsguard", scenario)], results[("hono", scenario)]))
    ratios = [c[0] / h[0] for c, h in pairs]
    cpu = statistics.median(c[3] - h[3] for c, h in pairs)
    print(f"| {scenario} | {statistics.median(ratios):.2f}x ({min(ratios):.2f}–{max(ratios):.2f}) | {cpu:+.0f} µs |")
print(f"\ncorsguard's Worker: `index.wasm` {len(wasm):,} bytes raw, {len(gzip.compress(wasm, 9)):,} bytes gzip -9; "
      f"its JavaScript shim {shim.stat().st_size:,} bytes. Hono's Worker: {(out / 'hono.js').stat().st_size:,} bytes "
      f"of minified JavaScript.")
EOF
