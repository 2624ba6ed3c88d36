"""A policy reload in a real Envoy keeps nothing half-applied, with either build (the `.wasm` and the
dynamic module): a listener update whose policy does not validate is rejected (every error logged)
and the previous policy keeps serving; a valid update then takes over. The listener comes from a
file (LDS), replaced atomically as operators do."""

from __future__ import annotations

import json
import os
import pathlib
import time

import envoy_edge
import harness

OLD = "https://old.example.com"
NEW = "https://new.example.com"
UPDATE_TIMEOUT = 60


def lds(build: envoy_edge.Build, port: int, policy: dict | str, version: int) -> dict:
    listener = envoy_edge.listener("edge", port, [build.filter(policy)])
    resource = {"@type": "type.googleapis.com/envoy.config.listener.v3.Listener", **listener}
    return {"version_info": str(version), "resources": [resource]}


def replace(path: pathlib.Path, content: dict) -> None:
    """Writes beside the file, then renames over it: Envoy sees one complete file, never half of one."""
    temporary = path.with_suffix(".next")
    temporary.write_text(json.dumps(content))
    os.replace(temporary, path)


def allowed_origin(port: int, origin: str) -> str | None:
    _, headers, _ = harness.send(port, {"path": "/api", "headers": {"Origin": origin}})
    return dict((k.lower(), v) for k, v in headers).get("access-control-allow-origin")


def wait_for(envoy: envoy_edge.Envoy, counter: str, at_least: int) -> None:
    deadline = time.monotonic() + UPDATE_TIMEOUT
    while envoy.counters("listener_manager.lds.").get(counter, 0) < at_least:
        assert time.monotonic() < deadline, f"{counter} never reached {at_least}:\n{envoy.log()[-3000:]}"
        time.sleep(0.1)


def test_a_bad_policy_on_reload_keeps_the_previous_one_serving(build, tmp_path):
    port = harness.free_port()
    listeners = tmp_path / "lds.json"
    replace(listeners, lds(build, port, {"origins": [OLD]}, 1))
    with harness.Upstream() as upstream:
        envoy = envoy_edge.Envoy([], upstream.port)
        # The listener comes from the file, not from the bootstrap.
        bootstrap = json.loads(envoy.config_path.read_text())
        bootstrap["node"] = {"id": "corsguard-reload-test", "cluster": "corsguard"}
        bootstrap["dynamic_resources"] = {
            "lds_config": {"path_config_source": {"path": str(listeners)}, "resource_api_version": "V3"}}
        envoy.config_path.write_text(json.dumps(bootstrap))
        with envoy:
            wait_for(envoy, "listener_manager.lds.update_success", 1)
            deadline = time.monotonic() + UPDATE_TIMEOUT
            while True:
                try:
                    assert allowed_origin(port, OLD) == OLD
                    break
                except OSError:
                    assert time.monotonic() < deadline, envoy.log()[-3000:]
                    time.sleep(0.1)

            bad = {"origins": ["https://new.example.com/", "*"], "credentials": True, "max_age": -1}
            replace(listeners, lds(build, port, bad, 2))
            wait_for(envoy, "listener_manager.lds.update_rejected", 1)
            time.sleep(0.3)  # the log is flushed every 100 ms
            log = envoy.log()
            for error in ['origins[0]: "https://new.example.com/" has a trailing slash',
                          'origins: "*" cannot be used with credentials: true', "max_age: -1 is negative"]:
                assert error in log, f"{error!r} not logged:\n{log[-3000:]}"
            for _ in range(20):
                assert allowed_origin(port, OLD) == OLD, "the previous policy stopped serving"
                assert allowed_origin(port, NEW) is None, "something of the rejected policy was applied"

            replace(listeners, lds(build, port, {"origins": [NEW]}, 3))
            wait_for(envoy, "listener_manager.lds.update_success", 2)
            deadline = time.monotonic() + UPDATE_TIMEOUT
            while allowed_origin(port, NEW) != NEW:
                assert time.monotonic() < deadline, f"the valid update never took over:\n{envoy.log()[-3000:]}"
                time.sleep(0.1)
            assert allowed_origin(port, OLD) is None
