"""The wasi:http component for end-to-end suites: built with a policy and an upstream embedded
(component/http/build.sh, as a user builds it), and served by a real component host on 127.0.0.1:
Wasmtime's `wasmtime serve` (pinned, built by `scripts/setup.sh wasmtime`) or `jco serve`."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

import harness
import servers

ROOT = harness.ROOT
WASMTIME = ROOT / ".tools" / "bin" / "wasmtime"
NODE = ROOT / "node_modules" / ".bin" / "node"
JCO = ROOT / "component" / "node_modules" / "@bytecodealliance" / "jco" / "dist" / "jco.js"
TOOLS = [WASMTIME, JCO, ROOT / "node_modules" / ".bin" / "wasm-opt"]
BUILD_TIMEOUT = 900


def missing() -> list[str]:
    """What is not installed (scripts/setup.sh wasmtime builds Wasmtime, portable installs jco)."""
    return [str(path.relative_to(ROOT)) for path in TOOLS if not path.exists()]


def build(policy: dict, upstream: str, out: pathlib.Path) -> pathlib.Path:
    """`out`: the component with `policy` embedded, in front of `upstream` (`http://host:port`)."""
    policy_file = out.with_suffix(".json")
    policy_file.write_text(json.dumps(policy))
    env = dict(os.environ, CORSGUARD_POLICY=str(policy_file), CORSGUARD_UPSTREAM=upstream)
    done = subprocess.run(["bash", str(ROOT / "component" / "http" / "build.sh"), str(out)], env=env,
                          capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"component/http/build.sh failed:\n{done.stderr[-4000:]}")
    return out


class Hosts(servers.Servers):
    """Components, each in its own host: `apps` maps a name to `(host, wasm)`, the host being
    `wasmtime` or `jco`."""

    kind = "component"

    def command(self, name: str, port: int) -> tuple[list[str], dict[str, str]]:
        host, wasm = self.apps[name]
        if host == "wasmtime":
            return [str(WASMTIME), "serve", "--addr", f"127.0.0.1:{port}", str(wasm)], {}
        return [str(NODE), str(JCO), "serve", str(wasm), "--host", "127.0.0.1", "--port", str(port)], {}
