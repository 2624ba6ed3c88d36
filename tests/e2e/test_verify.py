"""`corsguard verify` against every local edge at once, each deployed as docs/cli.md's "One policy,
every edge" says: examples/environments.json, environment production, `corsguard emit` for each
edge (Envoy, workerd, Viceroy, the wasi:http component in Wasmtime, the npm package under Deno),
all in front of the test upstream, which sends CORS headers of its own. The table must be all
green; and an edge given another environment's policy must be named, case by case."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import tempfile
import tomllib

import pytest

import component_edge
import deno_edge
import envoy_edge
import fastly_edge
import harness
import workers_edge

CLI = harness.ROOT / "target" / "release" / "corsguard"
POLICY = "examples/environments.json"
EDGES = ["envoy", "workerd", "fastly", "wasmtime", "deno"]


def emit(*args: str) -> str:
    done = subprocess.run([str(CLI), "emit", *args], cwd=harness.ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def envoy_policy(env: str) -> str:
    """The policy `emit envoy` embeds (Envoy's own YAML reader is what the deployment uses)."""
    yaml = emit("envoy", POLICY, "--env", env)
    block = re.search(r"value: \|\n((?: {10}.*\n)+)", yaml)
    assert block, yaml
    return block.group(1)


def verify(*urls: str, env: str = "production", form: str = "json") -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), "verify", POLICY, "--env", env, *urls, "--rate", "500", "--timeout", "10",
                           "--format", form], cwd=harness.ROOT, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def edges(upstream, every_edge):
    """Every edge serving environment production, and one Deno given environment development."""
    wasm = every_edge
    origin = f"http://127.0.0.1:{upstream.port}"
    production = json.loads(emit("component", POLICY, "--env", "production"))
    development = json.loads(emit("component", POLICY, "--env", "development"))
    wrangler = tomllib.loads(emit("wrangler", POLICY, "--env", "production", "--upstream", origin))
    worker = dict(workers_edge.corsguard(), bindings=wrangler["env"]["production"]["vars"])
    fastly = emit("fastly", POLICY, "--env", "production", "--upstream", origin + "/")
    with tempfile.TemporaryDirectory(prefix="corsguard-verify-") as work:
        component = component_edge.build(production, origin, pathlib.Path(work) / "http.wasm")
        envoy_port = harness.free_port()
        listener = envoy_edge.listener("verify", envoy_port, [envoy_edge.wasm_filter(envoy_policy("production"), wasm)])
        listener["filter_chains"][0]["filters"][0]["typed_config"].update(envoy_edge.NORMALIZED | envoy_edge.CUSTOM_METHODS)
        apps = {"production": deno_edge.App("deno-deploy", "main.ts", production, origin),
                "development": deno_edge.App("deno-deploy", "main.ts", development, origin)}
        with envoy_edge.Envoy([listener], upstream.port), workers_edge.Workerd({"verify": worker}) as workerd, \
                fastly_edge.Viceroys({"verify": fastly}) as viceroy, \
                component_edge.Hosts({"verify": ("wasmtime", component)}) as wasmtime, \
                deno_edge.Project() as project, deno_edge.Denos(project, apps) as deno:
            ports = {"envoy": envoy_port, "workerd": workerd.ports["verify"], "fastly": viceroy.ports["verify"],
                     "wasmtime": wasmtime.ports["verify"], "deno": deno.ports["production"],
                     "deno-development": deno.ports["development"]}
            yield {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}


def test_every_edge_enforces_the_policy(edges, capsys):
    urls = [f"{name}={edges[name]}" for name in EDGES]
    done = verify(*urls)
    report = json.loads(done.stdout)
    disagreeing = [(c["case"], a["edge"], a["differences"]) for c in report["cases"] for a in c["answers"]
                   if not a["agrees"]]
    assert (done.returncode, disagreeing) == (0, []), done.stderr
    assert report["edges"] == [{"name": name, "url": edges[name]} for name in EDGES]
    assert report["disagreements"] == 0
    # The probe set covers what the policy lists, and the upstream's own CORS headers were replaced.
    cases = [c["case"] for c in report["cases"]]
    for wanted in ["top level, https://app.example.com: GET", "suffix attack of https://app.example.com",
                   "another scheme", "another port", "prefix attack", "method DELETE",
                   "unlisted method PATCH", "request header Authorization", "unlisted request header X-Corsguard-Verify",
                   "with credentials", "private network", "routes[0], the prefix without its slash",
                   "routes[0], with an escaped slash after the prefix", "routes[1], its host with a trailing dot",
                   "routes[1], a subdomain of its host"]:
        assert any(wanted in case for case in cases), wanted
    allowed = [c for c in report["cases"] if c["policy"] == "allowed"]
    blocked = [c for c in report["cases"] if c["policy"] == "blocked"]
    assert len(allowed) > 10 and len(blocked) > 10, (len(allowed), len(blocked))
    for case in report["cases"]:
        for answer in case["answers"]:
            assert "https://other.invalid" not in answer["answer"]["headers"].values(), case["case"]
    human = verify(*urls, form="human")
    assert human.returncode == 0, human.stdout[-3000:]
    assert "every edge enforces the policy" in human.stdout
    with capsys.disabled():
        print("\n" + human.stdout)


def test_an_edge_with_another_policy_is_named(edges, capsys):
    drifted = "deno-development"
    done = verify(f"envoy={edges['envoy']}", f"{drifted}={edges[drifted]}")
    assert done.returncode == 1, done.stdout[-3000:]
    report = json.loads(done.stdout)
    by_edge = {}
    for case in report["cases"]:
        envoy, other = case["answers"]
        assert envoy["agrees"], (case["case"], envoy["differences"])
        if not other["agrees"]:
            by_edge.setdefault(other["edge"], []).append(case["case"])
    assert list(by_edge) == [drifted]
    # Development allows localhost and not the production front ends: both show, request by request.
    assert any("top level, https://app.example.com: GET" in case for case in by_edge[drifted]), by_edge
    human = verify(f"envoy={edges['envoy']}", f"{drifted}={edges[drifted]}", form="human")
    assert human.returncode == 1
    assert "DISAGREEMENT" in human.stdout and f"{drifted}: blocked in a browser" in human.stdout, human.stdout[-3000:]
    assert "no access-control-allow-origin where the policy sends https://app.example.com" in human.stdout
    with capsys.disabled():
        print("\n" + human.stdout)
