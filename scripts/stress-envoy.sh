#!/usr/bin/env bash
# Hostile requests through corsguard's Envoy dynamic module in the real Envoy of the pinned wheel
# (BENCHMARKS.md, "The Envoy module under stress"). The shapes are tests/e2e/stress.py's: every
# decision vector's request, oversized, malformed and doubled headers, two Origins, absolute-form
# targets, route-confusion paths and the route fuzzer's path pieces, pipelined on kept-alive
# connections. The upstream is a direct_response listener of the same Envoy.
#
# 1. Under valgrind's memcheck (Envoy's allocator replaced by valgrind's): any invalid access, use of
#    uninitialised memory or definite leak whose stack passes through libcorsguard_envoy.so is a
#    finding. The module is rebuilt with debug information for it (symbols in the stacks).
# 2. Natively: Envoy's resident memory sampled as the requests go; it must stay flat once warm
#    (within 2 MiB of its value after the first tenth).
# Either phase fails the run (exit 1) on a finding, a crash, an answer missing, or memory growth.
#
# Usage: scripts/stress-envoy.sh [memcheck requests] [native requests]   (default 20000 1000000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh rust python bench >&2
CARGO_PROFILE_NATIVE_DEBUG=line-tables-only envoy-module/build.sh >/dev/null
exec "$root/.tools/venv/bin/python" - "$@" <<'PY'
import json, pathlib, sys, tempfile, time

root = pathlib.Path.cwd()
sys.path.insert(0, str(root / "tests" / "e2e"))
import envoy_edge as ee
import stress

MEMCHECK_REQUESTS = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
NATIVE_REQUESTS = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
GROWTH_KIB = 2048
# The route-confusion vectors' policy: routes, hosts and credentials, so that every path is walked.
policy = json.loads((root / "tests" / "vectors" / "decisions" / "route-confusion.json").read_text())["policy"]
LIBRARY = "libcorsguard_envoy"
failed = False


def fail(message: str) -> None:
    global failed
    failed = True
    print(f"FAIL: {message}")


def report(statuses) -> str:
    return ", ".join(f"{status or 'closed'}: {n:,}" for status, n in sorted(statuses.items()))


work = pathlib.Path(tempfile.mkdtemp(prefix="corsguard-stress-"))
print(f"{len(stress.shapes())} request shapes\n")

# 1. memcheck
started = time.monotonic()
statuses, findings, died = stress.under_memcheck(ee.module_filter(policy), MEMCHECK_REQUESTS, LIBRARY,
                                                 work / "memcheck.xml")
print(f"memcheck: {MEMCHECK_REQUESTS:,} requests in {time.monotonic() - started:.0f} s ({report(statuses)})")
if died:
    fail(f"Envoy died under memcheck:\n{died}")
for finding in findings:
    fail(f"memcheck: {finding}")
print(f"memcheck: {len(findings)} finding(s) in {LIBRARY}.so ({work / 'memcheck.xml'})\n")

# 2. natively, a million
ls, upstream, edge = stress.listeners(ee.module_filter(policy))
with ee.Envoy(ls, upstream, wasm_log_level="info") as envoy:
    samples = []
    every = max(NATIVE_REQUESTS // 20, 1)
    started = time.monotonic()
    statuses = stress.blast(edge, NATIVE_REQUESTS, every, lambda answered: samples.append((answered, envoy.rss_kib())))
    seconds = time.monotonic() - started
    if envoy.process.poll() is not None:
        fail(f"Envoy died:\n{envoy.log()[-3000:]}")
    if "Caught Segmentation" in envoy.log() or "panicked" in envoy.log():
        fail(f"Envoy logged a crash or a panic:\n{envoy.log()[-3000:]}")
print(f"native: {NATIVE_REQUESTS:,} requests in {seconds:.0f} s ({report(statuses)})")
print("| requests answered | Envoy VmRSS |\n|---:|---:|")
for answered, kib in samples:
    print(f"| {answered:,} | {kib / 1024:.1f} MiB |")
warm = [kib for answered, kib in samples if answered >= NATIVE_REQUESTS // 10]
if not warm:
    fail("no memory sample after warm-up")
elif max(warm) - warm[0] > GROWTH_KIB:
    fail(f"resident memory grew by {(max(warm) - warm[0]) / 1024:.1f} MiB after warm-up")
else:
    print(f"\nafter warm-up: {warm[0] / 1024:.1f} to {max(warm) / 1024:.1f} MiB "
          f"(+{(max(warm) - warm[0]) / 1024:.2f} MiB; the bound is {GROWTH_KIB / 1024:.0f} MiB)")
print("\nstress run " + ("FAILED" if failed else "passed"))
sys.exit(1 if failed else 0)
PY
