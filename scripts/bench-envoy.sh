#!/usr/bin/env bash
# corsguard in Envoy, side by side in one run (BENCHMARKS.md, "Envoy"): one Envoy with one worker,
# pinned to one core, wrk pinned to another, and four listeners in front of the same upstream (a
# sixth listener of the same Envoy with a direct_response): no CORS; Envoy's native CORS filter
# (route-level CorsPolicy); an empty proxy-wasm filter (reads Origin, adds one header: the Wasm ABI's
# own cost); an empty dynamic module (the same, envoy-module/bench_empty_module.c: the native ABI's
# own cost; it answers preflights itself, with a 204 echoing Origin); corsguard's `.wasm`; corsguard's dynamic module (envoy-module/). Trials are interleaved
# (every listener and request kind once per round, in a rotating order) and the table gives medians
# over rounds. Then the .wasm size, and resident memory per extra worker.
#
# Request kinds: a preflight, a GET with Origin, and a GET without (not a CORS request).
#
# With --instructions, the same listeners and requests run once each under callgrind instead, and
# the table gives the instructions Envoy's process executes per request: the same count run after
# run whatever else the machine does, where single timed trials move by 10-30%; it leaves out the
# kernel's share of each request (loopback networking), so its ratios are wider than the timed ones.
# It ends with where the dynamic module's instructions go, by function (callgrind_annotate).
#
# BASELINE_WASM=path/to/corsguard.wasm adds a listener with that (an earlier) build of the `.wasm`,
# measured beside this one in the same run.
#
# Usage: scripts/bench-envoy.sh [rounds] [seconds per trial]     (default 5 rounds of 4 s)
#        scripts/bench-envoy.sh --instructions [requests per cell] (default 1000: Envoy's own timers,
#        which fall in some cell, then weigh little)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh rust python node bench >&2
proxy-wasm/build.sh --bench >/dev/null
envoy-module/build.sh >/dev/null
cc -O2 -Wall -Werror -Wno-unused-parameter -shared -fPIC -o target/envoy/libcorsguard_bench_empty.so \
  envoy-module/bench_empty_module.c
exec "$root/.tools/venv/bin/python" - "$@" <<'PY'
import http.client, json, os, pathlib, re, statistics, subprocess, sys, tempfile, time

root = pathlib.Path.cwd()
sys.path.insert(0, str(root / "tests" / "e2e"))
import envoy_edge as ee
from harness import free_ports

ARGS = sys.argv[1:]
INSTRUCTIONS = ARGS[:1] == ["--instructions"]
if INSTRUCTIONS:
    REQUESTS = int(ARGS[1]) if len(ARGS) > 1 else 1000
else:
    ROUNDS, SECONDS = (int(ARGS[0]) if ARGS else 5), (int(ARGS[1]) if len(ARGS) > 1 else 4)
CONNECTIONS = 16
ENVOY_CPU, WRK_CPU = "0", "1"
APP = "https://app.example.com"
BASELINE = os.environ.get("BASELINE_WASM")  # an earlier corsguard .wasm, measured beside this one

policy = {
    "origins": [APP],
    "methods": ["GET", "POST", "PUT", "DELETE"],
    "request_headers": ["Content-Type", "Authorization"],
    "expose_headers": ["X-Request-Id"],
    "credentials": True,
    "max_age": 7200,
}
native_policy = {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
    "allow_origin_string_match": [{"exact": APP}],
    "allow_methods": "GET,POST,PUT,DELETE",
    "allow_headers": "content-type,authorization",
    "expose_headers": "x-request-id",
    "allow_credentials": True,
    "max_age": "7200",
}
native_filter = {"name": "envoy.filters.http.cors",
                 "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"}}

ports = dict(zip(["backend", "none", "native", "empty", "empty-module", "corsguard", "module", "baseline"],
                 free_ports(8)))
backend_route = {"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": {"inline_string": "upstream"}},
                 "response_headers_to_add": [
                     {"header": {"key": "access-control-allow-origin", "value": "https://upstream.invalid"}},
                     {"header": {"key": "vary", "value": "Accept-Encoding"}}]}
listeners = [
    ee.listener("backend", ports["backend"], [], route=backend_route),
    ee.listener("none", ports["none"], []),
    ee.listener("native", ports["native"], [native_filter],
                vhost_extra={"typed_per_filter_config": {"envoy.filters.http.cors": native_policy}}),
    ee.listener("empty", ports["empty"], [ee.wasm_filter("", ee.EMPTY_WASM, vm_id="empty")]),
    ee.listener("empty-module", ports["empty-module"], [ee.module_filter("", name="corsguard_bench_empty")]),
    ee.listener("corsguard", ports["corsguard"], [ee.wasm_filter(policy, ee.WASM, vm_id="corsguard")]),
    ee.listener("module", ports["module"], [ee.module_filter(policy)]),
] + ([ee.listener("baseline", ports["baseline"], [ee.wasm_filter(policy, pathlib.Path(BASELINE), vm_id="baseline")])]
     if BASELINE else [])
KINDS = {
    "preflight": ("OPTIONS", {"Origin": APP, "Access-Control-Request-Method": "PUT",
                              "Access-Control-Request-Headers": "content-type"}),
    "GET": ("GET", {"Origin": APP}),
    "GET, no Origin": ("GET", {}),
}
EDGES = ["none", "native", "empty", "empty-module", "corsguard", "module"] + (["baseline"] if BASELINE else [])
CORSGUARD = ("corsguard", "module", "baseline")  # the builds of corsguard: they own CORS
NAMES = {"none": "no CORS", "native": "native", "empty": "empty proxy-wasm filter", "empty-module": "empty module",
         "corsguard": "corsguard `.wasm`", "module": "corsguard module", "baseline": "baseline `.wasm`"}
tmp = pathlib.Path(tempfile.mkdtemp(prefix="corsguard-bench-"))


def wrk_script(method: str, headers: dict) -> pathlib.Path:
    path = tmp / f"{method}-{len(headers)}.lua"
    lines = [f'wrk.method = "{method}"'] + [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def cpu_ns(pid: int) -> int:
    """CPU time of every thread of the process, in ns (schedstat: precise, unlike clock ticks)."""
    total = 0
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def run_wrk(port: int, kind: str, seconds: int) -> dict:
    method, headers = KINDS[kind]
    out = subprocess.run(
        ["taskset", "-c", WRK_CPU, "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency",
         "-s", str(wrk_script(method, headers)), f"http://127.0.0.1:{port}/api/items"],
        capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    lat = {p: float(v) * UNITS[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
    if errors:
        raise SystemExit(f"wrk reported errors on {kind} to port {port}:\n{out}")
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": lat["50"], "p99": lat["99"], "requests": requests}


def check_answers() -> None:
    """Every edge answers each kind as expected, before anything is timed."""
    import harness
    for edge in EDGES:
        for kind, (method, headers) in KINDS.items():
            status, got, _ = harness.send(ports[edge], {"method": method, "path": "/api/items", "headers": headers})
            names = {n.lower(): v for n, v in got}
            assert status in (200, 204), (edge, kind, status)
            if "Origin" not in headers:  # corsguard owns CORS: the upstream's answer goes
                expected = None if edge in CORSGUARD else "https://upstream.invalid"
                assert names.get("access-control-allow-origin") == expected, (edge, kind, got)
            elif edge in ("native", *CORSGUARD):
                assert names.get("access-control-allow-origin") == APP, (edge, kind, got)
            if edge == "empty-module" and kind == "preflight":  # it answers preflights itself
                assert names.get("access-control-allow-origin") == APP, (edge, kind, got)
            elif edge.startswith("empty"):
                assert "x-empty-filter" in names, (edge, kind, got)


def load(edge: str, kind: str, requests: int) -> None:
    """`requests` requests on one kept-alive connection, as wrk sends them."""
    method, headers = KINDS[kind]
    connection = http.client.HTTPConnection("127.0.0.1", ports[edge], timeout=60)
    for _ in range(requests):
        connection.request(method, "/api/items", headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status not in (200, 204):
            raise SystemExit(f"{edge} answered {kind} with {response.status}")
    connection.close()


def count_instructions() -> None:
    out = tmp / "callgrind.out"
    valgrind = ["valgrind", "--tool=callgrind", "--smc-check=all-non-file", f"--callgrind-out-file={out}"]
    cells = [(e, k) for e in EDGES for k in KINDS]
    with ee.Envoy(listeners, ports["backend"], wasm_log_level="info", prefix=valgrind, start_timeout=600) as envoy:
        pid = str(envoy.process.pid)
        for _ in range(2):  # warm-up: V8 compiles hot Wasm functions again, optimised
            for cell in cells:
                load(*cell, REQUESTS)
        for i, cell in enumerate(cells):
            subprocess.run(["callgrind_control", "--zero", pid], check=True, capture_output=True)
            load(*cell, REQUESTS)
            subprocess.run(["callgrind_control", f"--dump=cell{i}", pid], check=True, capture_output=True)
    per_request, dumps = {}, {}
    for dump in tmp.glob("callgrind.out*"):
        text = dump.read_text(errors="replace")
        cell = re.search(r"^desc: Trigger: dump cell(\d+)$", text, re.M)
        if cell:
            total = int(re.search(r"^summary: (\d+)$", text, re.M).group(1))
            per_request[cells[int(cell.group(1))]] = total / REQUESTS / 1000
            dumps[cells[int(cell.group(1))]] = dump
    print(f"\nInstructions Envoy executes per request (thousands), under callgrind, {REQUESTS} requests per cell "
          "after two rounds of warm-up:\n")
    ratios = ["`.wasm` / native", "module / native"] + (["`.wasm` / baseline"] if BASELINE else [])
    print("| request | " + " | ".join(NAMES[edge] for edge in EDGES) + " | " + " | ".join(ratios) + " |")
    print("|---|" + "---:|" * (len(EDGES) + len(ratios)))
    for kind in KINDS:
        cost = {edge: per_request[(edge, kind)] for edge in EDGES}
        row = [cost["corsguard"] / cost["native"], cost["module"] / cost["native"]]
        if BASELINE:
            row.append(cost["corsguard"] / cost["baseline"])
        print(f"| {kind} | " + " | ".join(f"{cost[edge]:.1f}k" for edge in EDGES) + " | " +
              " | ".join(f"{ratio:.3f}x" if BASELINE else f"{ratio:.2f}x" for ratio in row) + " |")
    for kind in KINDS:
        print(f"\nThe module's {kind}, by function (instructions per request, inclusive; the Envoy binary "
              "is stripped, so only the module's own functions and the callbacks they make have names):\n")
        print(by_function(dumps[("module", kind)]))


def by_function(dump: pathlib.Path, top: int = 25) -> str:
    """The module's functions in one dump, heaviest first (callgrind_annotate, inclusive)."""
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(dump)],
                          capture_output=True, text=True, check=True).stdout
    lines = ["| instructions per request | function |", "|---:|---|"]
    for line in text.splitlines():
        match = re.match(r"^\s*([\d,]+) \([^)]*\)\s+(\S.*?):(.+?) \[(.*)\]$", line)
        if match and "libcorsguard_envoy" in match.group(4) and len(lines) < top + 2:
            count = int(match.group(1).replace(",", "")) / REQUESTS
            lines.append(f"| {count:,.0f} | `{match.group(3)[:100]}` |")
    return "\n".join(lines)


if INSTRUCTIONS:
    count_instructions()
    raise SystemExit(0)

results = {(e, k): [] for e in EDGES for k in KINDS}
print(f"load average of the machine at the start: {os.getloadavg()[0]:.1f}")
with ee.Envoy(listeners, ports["backend"], concurrency=1,
              wasm_log_level="info") as envoy:
    subprocess.run(["taskset", "-a", "-p", "-c", ENVOY_CPU, str(envoy.process.pid)], check=True,
                   stdout=subprocess.DEVNULL)
    check_answers()
    for edge in EDGES:  # warm-up: connections, V8 tiering
        for kind in KINDS:
            run_wrk(ports[edge], kind, 1)
    order = [(e, k) for e in EDGES for k in KINDS]
    for r in range(ROUNDS):
        shift = r % len(order)
        for edge, kind in order[shift:] + order[:shift]:
            before = cpu_ns(envoy.process.pid)
            trial = run_wrk(ports[edge], kind, SECONDS)
            trial["cpu_us"] = (cpu_ns(envoy.process.pid) - before) / 1e3 / trial["requests"]
            results[(edge, kind)].append(trial)
        print(f"round {r + 1}/{ROUNDS} done", file=sys.stderr)


def med(edge, kind, field):
    return statistics.median(t[field] for t in results[(edge, kind)])


print(f"\n{ROUNDS} rounds x {SECONDS} s per trial, wrk -t1 -c{CONNECTIONS} on CPU {WRK_CPU}, "
      f"Envoy --concurrency 1 on CPU {ENVOY_CPU}; medians over rounds.\n")
print("| request | listener | requests/s | p50 | p99 | Envoy CPU per request |")
print("|---|---|---:|---:|---:|---:|")
names = dict(NAMES, native="native `envoy.filters.http.cors`", **{"empty-module": "empty dynamic module"})
for kind in KINDS:
    for edge in EDGES:
        print(f"| {kind} | {names[edge]} | {med(edge, kind, 'rps'):,.0f} | {med(edge, kind, 'p50') * 1000:.0f} µs "
              f"| {med(edge, kind, 'p99') * 1000:.0f} µs | {med(edge, kind, 'cpu_us'):.1f} µs |")
print()
print("| request | `.wasm` / empty filter (req/s) | `.wasm` / native (req/s) | module / native (req/s) "
      "| module / native (CPU/request) |")
print("|---|---:|---:|---:|---:|")


def spread(values):
    values = sorted(values)
    return f"{statistics.median(values):.2f}x ({values[0]:.2f}–{values[-1]:.2f})"


for kind in KINDS:
    def ratios(edge, other, field="rps"):
        return [c[field] / o[field] for c, o in zip(results[(edge, kind)], results[(other, kind)])]
    print(f"| {kind} | {spread(ratios('corsguard', 'empty'))} | {spread(ratios('corsguard', 'native'))} "
          f"| {spread(ratios('module', 'native'))} | {spread(ratios('module', 'native', 'cpu_us'))} |")
print("\n(ratios: the median of the per-round ratios, each round's trials being adjacent in time, with their"
      f" range; load average of the machine at the end: {os.getloadavg()[0]:.1f})")

size = ee.WASM.stat().st_size
print(f"\ncorsguard.wasm after wasm-opt -Oz: {size:,} bytes ({size / 1024:.0f} KiB); "
      f"the empty filter: {ee.EMPTY_WASM.stat().st_size:,} bytes")


def rss_after_start(workers: int, edge: str) -> int:
    filters = {"none": [], "corsguard": [ee.wasm_filter(policy, ee.WASM)], "module": [ee.module_filter(policy)]}[edge]
    backend_port, edge_port = free_ports(2)
    ls = [ee.listener("backend", backend_port, [], route=backend_route), ee.listener("edge", edge_port, filters)]
    with ee.Envoy(ls, 1, concurrency=workers, wasm_log_level="info") as e:
        time.sleep(1.0)
        return e.rss_kib()


print("\nResident memory (VmRSS after start-up), by number of workers:")
print("| workers | no filter | corsguard `.wasm` | corsguard module |")
print("|---:|---:|---:|---:|")
rss = {}
for workers in (1, 2, 4):
    rss[workers] = {edge: rss_after_start(workers, edge) for edge in ("none", "corsguard", "module")}
    print(f"| {workers} | " + " | ".join(f"{rss[workers][edge] / 1024:.1f} MiB" for edge in rss[workers]) + " |")
for edge in ("corsguard", "module"):
    per_worker = (rss[4][edge] - rss[1][edge]) / 3 / 1024
    own = ((rss[4][edge] - rss[1][edge]) - (rss[4]["none"] - rss[1]["none"])) / 3 / 1024
    print(f"\nper extra worker with {names[edge]}: {per_worker:.2f} MiB, of which the filter's own "
          f"(minus no filter): {own:.2f} MiB")
PY
