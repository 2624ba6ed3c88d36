"""The Cloudflare Workers edge for end-to-end suites and benchmarks: builds corsguard's Worker with
the repository's own build command, and serves Workers in real workerd on 127.0.0.1, either many at
once from one workerd (`Workerd`, through miniflare's API: one start-up for every policy) or through
`wrangler dev` and the repository's wrangler.toml (`WranglerDev`), as a user runs it."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import pathlib
import signal
import socket
import subprocess
import tempfile
import time
import tomllib
import urllib.request

import harness

ROOT = harness.ROOT
NODE = ROOT / "node_modules" / ".bin" / "node"
WRANGLER = ROOT / "node_modules" / "wrangler" / "bin" / "wrangler.js"
BUILD_SCRIPT = ROOT / "cloudflare" / "build.sh"
BUILD = ROOT / "cloudflare" / "build"
RUNNER = pathlib.Path(__file__).with_name("workers_edge.mjs")
TOOLS = [
    NODE,
    WRANGLER,
    ROOT / "node_modules" / "miniflare" / "package.json",
    ROOT / ".tools" / "bin" / "wasm-bindgen",
    ROOT / "node_modules" / ".bin" / "wasm-opt",
    ROOT / "node_modules" / ".bin" / "esbuild",
]
ENV = dict(os.environ, WRANGLER_SEND_METRICS="false", NO_COLOR="1")

BUILD_TIMEOUT = 900
START_TIMEOUT = 120


def missing() -> list[str]:
    """The runtime and build tools that are not installed (scripts/setup.sh workers installs them)."""
    return [str(path.relative_to(ROOT)) for path in TOOLS if not path.exists()]


def config() -> dict:
    return tomllib.loads((ROOT / "wrangler.toml").read_text())


def build() -> None:
    """Builds the Worker as wrangler's [build] command does (cargo, wasm-bindgen, wasm-opt, esbuild; offline)."""
    done = subprocess.run(["sh", str(BUILD_SCRIPT)], cwd=ROOT, env=ENV, capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"cloudflare/build.sh failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")


def corsguard() -> dict:
    """The built Worker as workerd modules: wrangler.toml's entry point and the modules it imports."""
    return {"root": str(BUILD), "modules": [{"type": "ESModule", "path": str(BUILD / "worker" / "shim.mjs")},
                                            {"type": "CompiledWasm", "path": str(BUILD / "worker" / "index.wasm")}]}


def stop(process: subprocess.Popen) -> None:
    """Stops a process started in its own group, and everything it started (workerd included)."""
    with contextlib.suppress(OSError):
        if process.stdin:
            process.stdin.close()  # the runner disposes of workerd and exits when its stdin closes
    for sig, wait in ((None, 5.0), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if sig is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)  # the group outlives its leader while workerd runs
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(wait)


class Workerd:
    """Many Workers in one real workerd, each on its own 127.0.0.1 port.

    `workers` maps a name to {"modules": [...], "bindings": {...}}; after entering, `ports[name]`
    is where that Worker serves, and `log()` is what workerd and the Workers printed. A binding may
    be a function of `ports` (a Worker's URL for another). `prefix` goes before the command (e.g.
    `taskset -c 0` for a benchmark)."""

    def __init__(self, workers: dict[str, dict], prefix: list[str] | None = None) -> None:
        self.workers = workers
        self.prefix = prefix or []
        self.ports: dict[str, int] = {}
        self.dir: tempfile.TemporaryDirectory | None = None
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Workerd":
        # A free port may be taken by miniflare's own sockets before workerd binds it: try again.
        for attempt in range(3):
            try:
                return self.start()
            except RuntimeError as error:
                if "ERR_ADDRESS_IN_USE" not in str(error) or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def start(self) -> "Workerd":
        self.ports = dict(zip(self.workers, harness.free_ports(len(self.workers))))
        self.dir = tempfile.TemporaryDirectory(prefix="corsguard-workerd-")
        self.log_path = pathlib.Path(self.dir.name) / "workerd.log"
        wrangler = config()
        spec = {
            "compatibility_date": wrangler["compatibility_date"],
            "compatibility_flags": wrangler.get("compatibility_flags", []),
            "workers": [dict(worker, name=name, port=self.ports[name], **self.bindings(worker))
                        for name, worker in self.workers.items()],
        }
        spec_path = pathlib.Path(self.dir.name) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen([*self.prefix, str(NODE), str(RUNNER), str(spec_path)], cwd=ROOT, env=ENV,
                                            stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while '{"ready":true}' not in self.log():
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"workerd did not start:\n{self.log()[-4000:]}")
                time.sleep(0.05)
        except BaseException:
            self.__exit__()
            raise
        return self

    def bindings(self, worker: dict) -> dict:
        if "bindings" not in worker:
            return {}
        values = worker["bindings"].items()
        return {"bindings": {key: value(self.ports) if callable(value) else value for key, value in values}}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def cpu_seconds(self) -> float:
        """CPU time used so far by the workerd processes of this instance (all their threads)."""
        total = 0.0
        for pid in subprocess.run(["pgrep", "-g", str(self.process.pid)], capture_output=True, text=True).stdout.split():
            with contextlib.suppress(OSError):
                if b"workerd" in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes():
                    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def __exit__(self, *exc) -> None:
        if self.process:
            stop(self.process)
            self.process = None
        if self.dir:
            self.dir.cleanup()


class WranglerDev:
    """`wrangler dev` on the repository's wrangler.toml (its [build] command included), on 127.0.0.1."""

    def __init__(self, args: list[str]) -> None:
        self.port = harness.free_port()
        self.args = args
        self.log_file = tempfile.NamedTemporaryFile(prefix="corsguard-wrangler-", suffix=".log")
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "WranglerDev":
        self.process = subprocess.Popen(
            [str(NODE), str(WRANGLER), "dev", "--ip", "127.0.0.1", "--port", str(self.port),
             "--inspector-port", str(harness.free_port()), "--show-interactive-dev-session=false", *self.args],
            cwd=ROOT, env=ENV, stdin=subprocess.PIPE, stdout=self.log_file, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            deadline = time.monotonic() + BUILD_TIMEOUT
            while not self.serving():
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"wrangler dev did not start:\n{self.log()[-4000:]}")
                time.sleep(0.2)
        except BaseException:
            self.__exit__()
            raise
        return self

    def serving(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=5):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def log(self) -> str:
        return pathlib.Path(self.log_file.name).read_text(errors="replace")

    def __exit__(self, *exc) -> None:
        if self.process:
            stop(self.process)
        self.log_file.close()


def send_raw(port: int, head: bytes, timeout: float = 10.0) -> tuple[int, list[tuple[str, str]], bytes]:
    """Sends a request head exactly as given (hostile bytes included); returns status, headers, body."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.getheaders(), response.read()
