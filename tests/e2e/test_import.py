"""`corsguard import envoy` judged on real Envoys, not only on text: one Envoy runs the source
configuration (cli/tests/import/envoy/edge.json, only its ports moved) with Envoy's own CORS filter,
another runs corsguard (each build) with the policy the import wrote, both in front of the test
upstream. Each request of edge-lossy.vectors.json goes to both: the source Envoy must do what the
`before` column says and corsguard what `now` says. The unit runner (cli/tests/import.rs) holds
every difference between the columns to the report's words, so a difference the report does not
announce fails one of the two.

A browser's reading of each answer: who answered (the upstream marks its answers `X-Upstream`),
and whether the answer lets the page read it (the origin echoed or `*`, credentials only with an
echoed origin and `Access-Control-Allow-Credentials: true`, a preflight's method allowed). The
upstream's own `Access-Control-Allow-Origin` names another origin, so an answer left untouched
reads as refused."""

from __future__ import annotations

import json
import subprocess
import tempfile

import pytest

import envoy_edge
import harness

CASE = harness.ROOT / "cli" / "tests" / "import" / "envoy"
CLI = harness.ROOT / "target" / "release" / "corsguard"
VECTORS = json.loads((CASE / "edge-lossy.vectors.json").read_text())


@pytest.fixture(scope="module")
def imported() -> str:
    """The policy `corsguard import envoy edge.json --lossy` writes."""
    subprocess.run(["cargo", "build", "--locked", "--release", "-q", "-p", "corsguard-cli"], cwd=harness.ROOT,
                   check=True, timeout=envoy_edge.BUILD_TIMEOUT)
    command = VECTORS["command"].removeprefix("$ corsguard ").split()
    done = subprocess.run([str(CLI), *command], cwd=CASE, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def source_listeners(port: int) -> list[dict]:
    """edge.json's listeners, on `port`; its cluster `upstream` becomes the test upstream."""
    config = json.loads((CASE / "edge.json").read_text())
    listeners = config["static_resources"]["listeners"]
    assert [c["name"] for c in config["static_resources"]["clusters"]] == ["upstream"]
    listeners[0]["address"]["socket_address"]["port_value"] = port
    return listeners


def reading(port: int, case: dict) -> str:
    """What a browser makes of the answer to `case` from the edge on `port`: `edge:allowed`,
    `application:refused` and so on (`untouched` reads as `refused` here: see the module's words)."""
    headers = {"Origin": case["origin"]}
    if "request_method" in case:
        headers["Access-Control-Request-Method"] = case["request_method"]
    status, lines, _ = harness.send(port, {"method": case["method"], "path": case["path"], "host": case["host"],
                                           "headers": headers})
    answer = {name.lower(): value for name, value in lines}
    who = "application" if "x-upstream" in answer else "edge"
    origin, credentials = answer.get("access-control-allow-origin"), case.get("credentials", False)
    allowed = origin in (case["origin"], "*") and (
        not credentials or (origin != "*" and answer.get("access-control-allow-credentials") == "true"))
    method = case.get("request_method")
    if who == "edge":
        allowed = allowed and 200 <= status < 300
        if method not in (None, "GET", "HEAD", "POST"):
            methods = [m.strip() for m in answer.get("access-control-allow-methods", "").split(",")]
            allowed = allowed and (method in methods or ("*" in methods and not credentials))
    return f"{who}:{'allowed' if allowed else 'refused'}"


def test_the_source_envoy_and_corsguard_differ_only_where_the_report_says(build, upstream, imported):
    source_port, corsguard_port = harness.free_ports(2)
    corsguard = [envoy_edge.listener("corsguard", corsguard_port, [build.filter(imported)])]
    with envoy_edge.Envoy(source_listeners(source_port), upstream.port) as source, \
            envoy_edge.Envoy(corsguard, upstream.port) as edge:
        wrong = []
        for case in VECTORS["requests"]:
            before = case["before"].replace("untouched", "refused")
            now = case["now"].replace("untouched", "refused")
            got = (reading(source_port, case), reading(corsguard_port, case))
            if got != (before, now):
                wrong.append(f"{case['name']}: Envoy's filter {got[0]} (expected {before}), corsguard {got[1]} "
                             f"(expected {now})")
        assert not wrong, "\n".join(wrong) + "\n" + source.log()[-2000:] + edge.log()[-2000:]
    assert len(VECTORS["requests"]) >= 10
