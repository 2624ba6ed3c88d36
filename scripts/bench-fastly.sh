#!/usr/bin/env bash
# Fastly Compute benchmark (BENCHMARKS.md, "Fastly Compute"): corsguard's Compute app and a
# pass-through app of the same shape (fastly/examples/passthrough.rs), each in its own Viceroy
# pinned to CPU 0, in front of one backend (an Envoy direct_response, with wrk, on CPU 1), in
# interleaved runs of wrk: a preflight and a simple GET with Origin. Viceroy is a development
# server, so the ratio is what counts. Prints the BENCHMARKS.md tables: medians over the rounds
# (requests/s, latency, Viceroy CPU per request), the corsguard/pass-through ratios (median of the
# per-round ratios, with their range), and the .wasm sizes.
# The policy has a wildcard origin, so each instance consults the public suffix table as it reads it
# (BENCHMARKS.md: an instance serves a few requests); `exact` as the fourth argument lists exact
# origins only, to show that cost apart.
# Usage: scripts/bench-fastly.sh [rounds=5] [seconds per run=5] [connections=16] [wildcard|exact]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh python node fastly bench >&2
fastly/build.sh --bench >/dev/null

exec "$root/.tools/venv/bin/python" - "${1:-5}" "${2:-5}" "${3:-16}" "${4:-wildcard}" <<'EOF'
import gzip
import json
import statistics
import subprocess
import sys

sys.path.insert(0, "tests/e2e")
import envoy_edge
import fastly_edge
import harness
import wrk_load

rounds, seconds, connections = (int(a) for a in sys.argv[1:4])
ORIGINS = {"wildcard": wrk_load.POLICY["origins"], "exact": ["https://app.example.com", "http://localhost:*"]}[sys.argv[4]]
POLICY = dict(wrk_load.POLICY, origins=ORIGINS)
ORIGIN, SCENARIOS = wrk_load.ORIGIN, wrk_load.SCENARIOS
CONTENDERS = ["corsguard", "passthrough"]
WASM = {"corsguard": fastly_edge.WASM, "passthrough": fastly_edge.WASM.with_name("passthrough.wasm")}
UPSTREAM_ORIGIN = "https://upstream.invalid"

backend_port = harness.free_port()
backend_route = {"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": {"inline_string": "upstream"}},
                 "response_headers_to_add": [
                     {"header": {"key": "access-control-allow-origin", "value": UPSTREAM_ORIGIN}},
                     {"header": {"key": "vary", "value": "Accept-Encoding"}}]}
backend = envoy_edge.Envoy([envoy_edge.listener("backend", backend_port, [], route=backend_route)], backend_port,
                           wasm_log_level="info", prefix=["taskset", "-c", "1"])
manifest = fastly_edge.manifest(json.dumps(POLICY), f"http://127.0.0.1:{backend_port}/")
edges = {name: fastly_edge.Viceroys({name: manifest}, wasm=WASM[name], prefix=["taskset", "-c", "0"])
         for name in CONTENDERS}


def wrk(name, script, duration):
    edge = edges[name]
    cpu = edge.cpu_seconds(name)
    rps, p50, p99, requests = wrk_load.run(f"http://127.0.0.1:{edge.ports[name]}/api", script, duration, connections,
                                           ["taskset", "-c", "1"])
    return rps, p50, p99, (edge.cpu_seconds(name) - cpu) / requests * 1e6


results = {(c, s): [] for c in CONTENDERS for s in SCENARIOS}
with backend, edges["corsguard"], edges["passthrough"]:
    scripts = {s: wrk_load.script(fastly_edge.WASM.parent, method, headers) for s, (method, headers) in SCENARIOS.items()}
    # Each contender must do its job before it is timed.
    for name in CONTENDERS:
        port = edges[name].ports[name]
        status, headers, _ = harness.send(port, {"method": "OPTIONS", "path": "/api", "headers": SCENARIOS["preflight"][1]})
        allow = dict((k.lower(), v) for k, v in headers).get("access-control-allow-origin")
        want = (204, ORIGIN) if name == "corsguard" else (200, UPSTREAM_ORIGIN)
        assert (status, allow) == want, (name, status, headers)
        status, headers, body = harness.send(port, {"path": "/api", "headers": {"Origin": ORIGIN}})
        allow = dict((k.lower(), v) for k, v in headers).get("access-control-allow-origin")
        assert (status, body, allow) == (200, b"upstream", ORIGIN if name == "corsguard" else UPSTREAM_ORIGIN), name
    for name in CONTENDERS:  # warm-up: connection pools, instances
        for scenario in SCENARIOS:
            wrk(name, scripts[scenario], 2)
    for r in range(rounds):
        for scenario in SCENARIOS:
            order = CONTENDERS[r % 2:] + CONTENDERS[:r % 2]  # interleaved, each first in turn
            for name in order:
                results[(name, scenario)].append(wrk(name, scripts[scenario], seconds))
                print(f"round {r + 1}/{rounds} {scenario:16} {name:12} {results[(name, scenario)][-1]}", file=sys.stderr)


def median(name, scenario, i):
    return statistics.median(run[i] for run in results[(name, scenario)])


viceroy = subprocess.run([str(fastly_edge.VICEROY), "--version"], capture_output=True, text=True).stdout.strip()
print(f"{viceroy} on CPU 0 (one per app), backend Envoy direct_response and wrk -t1 -c{connections} on CPU 1; "
      f"{rounds} interleaved rounds of {seconds} s per cell; medians over the rounds; origins {ORIGINS}.\n")
print("| request | app | requests/s | p50 (ms) | p99 (ms) | Viceroy CPU per request |")
print("|---|---|---:|---:|---:|---:|")
LABELS = {"corsguard": "corsguard", "passthrough": "pass-through (no CORS)"}
for scenario in SCENARIOS:
    for name in CONTENDERS:
        print(f"| {scenario} | {LABELS[name]} | {median(name, scenario, 0):,.0f} | {median(name, scenario, 1):.2f} | "
              f"{median(name, scenario, 2):.2f} | {median(name, scenario, 3):.0f} µs |")
print("\n| request | corsguard / pass-through (req/s) | corsguard − pass-through (CPU/request) |")
print("|---|---:|---:|")
for scenario in SCENARIOS:
    pairs = list(zip(results[("corsguard", scenario)], results[("passthrough", scenario)]))
    ratios = [c[0] / p[0] for c, p in pairs]
    cpu = statistics.median(c[3] - p[3] for c, p in pairs)
    print(f"| {scenario} | {statistics.median(ratios):.2f}x ({min(ratios):.2f}–{max(ratios):.2f}) | {cpu:+.0f} µs |")
for name in CONTENDERS:
    data = WASM[name].read_bytes()
    print(f"\n`{WASM[name].relative_to(fastly_edge.ROOT)}`: {len(data):,} bytes raw, {len(gzip.compress(data, 9)):,} "
          f"bytes gzip -9.", end="")
print()
EOF
