"""The Fastly Compute edge for end-to-end suites and benchmarks: builds corsguard's Compute app with
the repository's own build script, and serves it in real Viceroy (Fastly's local Compute runtime,
pinned and built by `scripts/setup.sh fastly`) on 127.0.0.1: one Viceroy per fastly.toml, many
started at once."""

from __future__ import annotations

import pathlib
import subprocess

import harness
import servers

ROOT = harness.ROOT
VICEROY = ROOT / ".tools" / "bin" / "viceroy"
WASM = ROOT / "target" / "fastly" / "corsguard-fastly.wasm"
MANIFEST = ROOT / "fastly" / "fastly.toml"
TOOLS = [VICEROY, ROOT / "node_modules" / ".bin" / "wasm-opt"]

BUILD_TIMEOUT = 900
# Viceroy compiles the module as it starts (0.8 CPU-seconds, on every core): this many start at once.
STARTING_AT_ONCE = 8


def missing() -> list[str]:
    """What is not installed (scripts/setup.sh fastly builds Viceroy, scripts/setup.sh node wasm-opt)."""
    return [str(path.relative_to(ROOT)) for path in TOOLS if not path.exists()]


def build() -> pathlib.Path:
    """Builds target/fastly/corsguard-fastly.wasm as fastly.toml's build script does."""
    done = subprocess.run([str(ROOT / "fastly" / "build.sh")], cwd=ROOT, capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"fastly/build.sh failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return WASM


def toml_string(text: str) -> str:
    """A TOML basic string holding exactly `text`."""
    escaped = {'"': '\\"', "\\": "\\\\"}
    return '"' + "".join(escaped.get(c, c) if c >= " " and c != "\x7f" else f"\\u{ord(c):04x}" for c in text) + '"'


def manifest(policy: str | None, backend: str) -> str:
    """A fastly.toml for a local run: `policy` as the `policy` entry of the `corsguard` Config Store
    (None: the store has no such entry), and `backend` as the `origin` backend's URL."""
    entry = f"policy = {toml_string(policy)}\n" if policy is not None else 'unrelated = "x"\n'
    return ('manifest_version = 3\nname = "corsguard-test"\nlanguage = "rust"\n\n'
            f'[local_server.backends.origin]\nurl = {toml_string(backend)}\n\n'
            '[local_server.config_stores.corsguard]\nformat = "inline-toml"\n\n'
            f'[local_server.config_stores.corsguard.contents]\n{entry}')


class Viceroys(servers.Servers):
    """Many Compute apps, each in its own real Viceroy: `apps` maps a name to its fastly.toml text."""

    kind = "viceroy"
    at_once = STARTING_AT_ONCE

    def __init__(self, apps: dict[str, str], wasm: pathlib.Path = WASM, prefix: list[str] | None = None) -> None:
        super().__init__(apps, prefix)
        self.wasm = wasm

    def command(self, name: str, port: int) -> tuple[list[str], dict[str, str]]:
        config = self.path(name, "toml")
        config.write_text(self.apps[name])
        return [str(VICEROY), "serve", "-C", str(config), "--addr", f"127.0.0.1:{port}", str(self.wasm)], \
            {"RUST_LOG": "warn"}
