"""The Fastly Compute edge for end-to-end suites and benchmarks: builds corsguard's Compute app with
the repository's own build script, and serves it in real Viceroy (Fastly's local Compute runtime,
pinned and built by `scripts/setup.sh fastly`) on 127.0.0.1: one Viceroy per fastly.toml, many
started at once."""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import tempfile
import time

import harness

ROOT = harness.ROOT
VICEROY = ROOT / ".tools" / "bin" / "viceroy"
WASM = ROOT / "target" / "fastly" / "corsguard-fastly.wasm"
MANIFEST = ROOT / "fastly" / "fastly.toml"
TOOLS = [VICEROY, ROOT / "node_modules" / ".bin" / "wasm-opt"]

BUILD_TIMEOUT = 900
START_TIMEOUT = 60
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


def accepting(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


class Viceroys:
    """Many Compute apps, each in its own real Viceroy on its own 127.0.0.1 port.

    `apps` maps a name to its fastly.toml text; after entering, `ports[name]` is where it serves
    and `log(name)` is what its Viceroy printed (the app's log lines among it). `prefix` goes
    before each command (e.g. `taskset -c 0` for a benchmark)."""

    def __init__(self, apps: dict[str, str], wasm: pathlib.Path = WASM, prefix: list[str] | None = None) -> None:
        self.apps = apps
        self.wasm = wasm
        self.prefix = prefix or []
        self.ports: dict[str, int] = {}
        self.processes: dict[str, subprocess.Popen] = {}
        self.dir: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> "Viceroys":
        self.dir = tempfile.TemporaryDirectory(prefix="corsguard-viceroy-")
        self.ports = dict(zip(self.apps, harness.free_ports(len(self.apps))))
        try:
            names = list(self.apps)
            for at in range(0, len(names), STARTING_AT_ONCE):
                batch = names[at:at + STARTING_AT_ONCE]
                for name in batch:
                    self.start(name)
                for name in batch:
                    self.wait(name)
        except BaseException:
            self.__exit__()
            raise
        return self

    def path(self, name: str, suffix: str) -> pathlib.Path:
        return pathlib.Path(self.dir.name) / f"{name}.{suffix}"

    def start(self, name: str) -> None:
        config = self.path(name, "toml")
        config.write_text(self.apps[name])
        with open(self.path(name, "log"), "wb") as log:
            self.processes[name] = subprocess.Popen(
                [*self.prefix, str(VICEROY), "serve", "-C", str(config), "--addr", f"127.0.0.1:{self.ports[name]}",
                 str(self.wasm)],
                cwd=self.dir.name, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=dict(os.environ, RUST_LOG="warn"), start_new_session=True)

    def wait(self, name: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not accepting(self.ports[name]):
            if self.processes[name].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Viceroy did not start {name}:\n{self.log(name)[-4000:]}")
            time.sleep(0.05)

    def log(self, name: str) -> str:
        return self.path(name, "log").read_text(errors="replace")

    def cpu_seconds(self, name: str) -> float:
        """CPU time used so far by one Viceroy (all its threads)."""
        fields = pathlib.Path(f"/proc/{self.processes[name].pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __exit__(self, *exc) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 15)
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait(5)
        self.processes.clear()
        if self.dir:
            self.dir.cleanup()
            self.dir = None
