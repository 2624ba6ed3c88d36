"""Real Chromium makes cross-origin requests through corsguard on a real Envoy, a real workerd, a
real Viceroy (Fastly Compute), the wasi:http component in real Wasmtime, and the npm package in
real Deno (the Deno Deploy example).

A page on one origin fetches an API on another, through each edge, under one policy. For each
scenario the browser must do what the policy intends (allowed: the script reads the body; refused:
the fetch fails), `corsguard explain` must predict the same verdict, and for a refusal Chromium's
console message must be the one `explain` prints. The suite prints a scenario x edge table.

Every name (*.example.test) resolves to 127.0.0.1 inside Chromium: nothing leaves the machine."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import threading

import component_edge
import deno_edge
import envoy_edge
import fastly_edge
import harness
import pytest
import workers_edge

NODE = harness.ROOT / "node_modules" / ".bin" / "node"
DRIVER = harness.ROOT / "tests" / "browser" / "driver.mjs"
CLI = harness.ROOT / "target" / "release" / "corsguard"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER_TIMEOUT = 300


class Api(http.server.BaseHTTPRequestHandler):
    """The application behind the edges: sets a cookie, echoes the one it gets, and sends an
    exposed and an unexposed header (and a CORS header of its own, which the edge replaces)."""

    protocol_version = "HTTP/1.1"

    def answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps({"method": self.command, "cookie": self.headers.get("Cookie", "")}).encode()
        self.send_response(200)
        if self.path.startswith("/set-cookie"):
            self.send_header("Set-Cookie", "session=s3cret; Path=/; SameSite=Lax")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("X-Request-Id", "42")
        self.send_header("X-Hidden", "1")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = answer

    def __getattr__(self, name: str):
        if name.startswith("do_"):  # a custom method (NEW): answered alike
            return self.answer
        raise AttributeError(name)

    def log_message(self, *args) -> None:
        pass


class Page(http.server.BaseHTTPRequestHandler):
    """An empty page, whatever the host name: it gives the scripts their origin."""

    def do_GET(self) -> None:
        body = b"<!doctype html><title>corsguard</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class CountingProxy:
    """Sits in front of an edge and counts the requests that reach it, by method and path, so the
    preflight cache can be seen at the edge."""

    def __init__(self, target_port: int) -> None:
        self.counts: dict[tuple[str, str], int] = {}
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self) -> None:
                key = (self.command, self.path.split("?")[0])
                proxy.counts[key] = proxy.counts.get(key, 0) + 1
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection("127.0.0.1", target_port, timeout=20)
                try:
                    conn.request(self.command, self.path, body=body, headers=dict(self.headers.items()))
                    response = conn.getresponse()
                    data = response.read()
                    self.send_response(response.status)
                    for name, value in response.getheaders():
                        if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = forward

            def __getattr__(self, name: str):
                if name.startswith("do_"):
                    return self.forward
                raise AttributeError(name)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def __enter__(self) -> "CountingProxy":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve(handler) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def policy_for(page_port: int) -> dict:
    return {
        "origins": [
            f"http://app.example.test:{page_port}",
            f"http://*.apps.example.test:{page_port}",
            f"http://pr-*.preview.example.test:{page_port}",
            "http://localhost:*",
        ],
        "methods": ["PUT", "DELETE", "NEW"],
        "request_headers": ["Content-Type", "X-Api-Key"],
        "expose_headers": ["X-Request-Id"],
        "credentials": True,
        "max_age": 600,
        "routes": [
            # Only app may read /admin/ and the admin host; the top level also allows *.apps.
            {"host": "admin.example.test", "origins": [f"http://app.example.test:{page_port}"]},
            {"path_prefix": "/admin/", "origins": [f"http://app.example.test:{page_port}"]},
            {"path_prefix": "/public/", "origins": ["*"], "credentials": False},
        ],
    }


def scenarios(page_port: int) -> list[dict]:
    """(name, page origin, path, fetch init, intent, extra checks)."""
    app = f"http://app.example.test:{page_port}"
    evil = f"http://evil.example.test:{page_port}"
    sub = f"http://one.apps.example.test:{page_port}"
    json_post = {"method": "POST", "headers": {"Content-Type": "application/json"}, "body": '{"a":1}'}
    return [
        {"name": "simple GET", "origin": app, "path": "/api/items", "init": {}, "allowed": True},
        {"name": "POST with JSON (preflighted)", "origin": app, "path": "/api/items", "init": json_post, "allowed": True},
        {"name": "PUT with a custom header", "origin": app, "path": "/api/items/1",
         "init": {"method": "PUT", "headers": {"X-Api-Key": "k"}}, "allowed": True},
        {"name": "DELETE with a custom header", "origin": app, "path": "/api/items/1",
         "init": {"method": "DELETE", "headers": {"X-Api-Key": "k"}}, "allowed": True},
        {"name": "credentialed, with a cookie", "origin": app, "path": "/api/me", "init": {"credentials": "include"},
         "allowed": True, "setCookie": "/set-cookie", "bodyContains": "session=s3cret"},
        {"name": "an exposed header is readable", "origin": app, "path": "/api/items", "init": {},
         "allowed": True, "readHeader": "X-Request-Id", "header": "42"},
        {"name": "an unexposed header is not", "origin": app, "path": "/api/items", "init": {},
         "allowed": True, "readHeader": "X-Hidden", "header": None},
        {"name": "a disallowed origin", "origin": evil, "path": "/api/items", "init": {}, "allowed": False},
        # Edges whose server refuses NEW before corsguard runs are the exception `corsguard check`
        # warns about: there the browser must block it.
        {"name": "a custom method (NEW)", "origin": app, "path": "/api/items/1",
         "init": {"method": "NEW", "headers": {"X-Api-Key": "k"}}, "allowed": True, "custom_method": "NEW"},
        {"name": "a disallowed method", "origin": app, "path": "/api/items/1", "init": {"method": "PATCH"},
         "allowed": False},
        {"name": "a disallowed header", "origin": app, "path": "/api/items",
         "init": {"headers": {"X-Secret": "1"}}, "allowed": False},
        {"name": "* origin on a public route", "origin": evil, "path": "/public/logo", "init": {}, "allowed": True},
        {"name": "* refuses credentials", "origin": evil, "path": "/public/logo",
         "init": {"credentials": "include"}, "allowed": False},
        {"name": "subdomain pattern", "origin": f"http://one.apps.example.test:{page_port}", "path": "/api/items",
         "init": {}, "allowed": True},
        {"name": "the pattern's apex is refused", "origin": f"http://apps.example.test:{page_port}",
         "path": "/api/items", "init": {}, "allowed": False},
        {"name": "port pattern", "origin": f"http://localhost:{page_port}", "path": "/api/items", "init": {},
         "allowed": True},
        {"name": "preview-deployment pattern", "origin": f"http://pr-42.preview.example.test:{page_port}",
         "path": "/api/items", "init": {"credentials": "include"}, "allowed": True},
        {"name": "a preview pattern's * is no hyphen", "origin": f"http://pr-4-2.preview.example.test:{page_port}",
         "path": "/api/items", "init": {}, "allowed": False},
        {"name": "nor another label", "origin": f"http://pr-1.x.preview.example.test:{page_port}",
         "path": "/api/items", "init": {}, "allowed": False},
        {"name": "preflight cached by max_age", "origin": app, "path": "/api/cached",
         "init": {"method": "PUT", "headers": {"X-Api-Key": "k"}}, "allowed": True, "repeat": 2,
         "preflights": 1},
        # Route confusion: credentialed GETs (no preflight, so one path serves both edges) from an
        # origin the top level allows and /admin/ does not.
        {"name": "a route allows its own origin", "origin": app, "path": "/admin/secret", "raw_path": True,
         "init": {"credentials": "include"}, "allowed": True},
        {"name": "a route refuses the top level's other origins", "origin": sub, "path": "/admin/secret",
         "raw_path": True, "init": {"credentials": "include"}, "allowed": False},
        {"name": "an encoded slash does not escape a route", "origin": sub, "path": "/admin%2Fsecret",
         "raw_path": True, "init": {"credentials": "include"}, "allowed": False},
        {"name": "dots behind an encoded slash do not either", "origin": sub, "path": "/x/..%2Fadmin/secret",
         "raw_path": True, "init": {"credentials": "include"}, "allowed": False},
        {"name": "nor does a doubled slash", "origin": sub, "path": "//admin/secret", "raw_path": True,
         "init": {"credentials": "include"}, "allowed": False},
        {"name": "a host route applies to its host with a trailing dot", "origin": sub, "path": "/api/x",
         "raw_path": True, "host": "admin.example.test.", "init": {"credentials": "include"}, "allowed": False},
        {"name": "and allows its own origin there", "origin": app, "path": "/api/x", "raw_path": True,
         "host": "admin.example.test.", "init": {"credentials": "include"}, "allowed": True},
        {"name": "the top level allows the other origin elsewhere", "origin": sub, "path": "/api/x",
         "raw_path": True, "init": {"credentials": "include"}, "allowed": True},
    ]


# The words with which `corsguard check` names each edge's server when it warns that it refuses a
# method (cli/src/edge_methods.rs).
SERVER_WORDS = {"envoy": "Envoy 1.40", "workerd": "workerd", "fastly": "Viceroy"}


def refusing_edges(policy_path: str, method: str) -> set[str]:
    """The edges whose server `corsguard check` says refuses `method` before corsguard runs."""
    done = subprocess.run([str(CLI), "check", policy_path, "--format", "json"], capture_output=True, text=True,
                          timeout=30)
    messages = [p["message"] for p in json.loads(done.stdout)["problems"] if p["code"] == "edge-refuses-method"]
    return {edge for edge, words in SERVER_WORDS.items()
            if any(m.startswith(words) and f" to {method} before" in m for m in messages)}


def explain(policy_path: str, scenario: dict, url: str) -> dict:
    """What `corsguard explain` predicts for the scenario's fetch."""
    init = scenario["init"]
    args = [str(CLI), "explain", policy_path, "--origin", scenario["origin"], "--url", url,
            "--method", init.get("method", "GET"), "--format", "json"]
    for name, value in init.get("headers", {}).items():
        args += ["-H", f"{name}: {value}"]
    if init.get("credentials") == "include":
        args.append("--credentials")
    done = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def tools():
    needed = {"Chromium": CHROMIUM, "Node 22 (npm node)": NODE, "playwright-core": harness.ROOT / "node_modules" /
              "playwright-core", "Envoy": envoy_edge.binary()}
    absent = [name for name, path in needed.items() if path is None or not os.path.exists(path)]
    absent += workers_edge.missing() + fastly_edge.missing() + component_edge.missing() + deno_edge.missing()
    harness.require(absent, "scripts/setup.sh")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "corsguard-cli"], cwd=harness.ROOT, check=True,
                   timeout=envoy_edge.BUILD_TIMEOUT)
    envoy_edge.build()
    workers_edge.build()
    fastly_edge.build()


def test_chromium_agrees_with_the_policy_and_with_explain(tools, capsys, request):
    page = serve(Page)
    api = serve(Api)
    page_port, api_port = page.server_address[1], api.server_address[1]
    policy = policy_for(page_port)
    work = tempfile.TemporaryDirectory(prefix="corsguard-browser-")
    request.addfinalizer(work.cleanup)
    policy_path = f"{work.name}/policy.json"
    with open(policy_path, "w") as f:
        json.dump(policy, f)
    envoy_port = harness.free_port()
    listeners = [envoy_edge.listener("browser", envoy_port, [envoy_edge.wasm_filter(policy)])]
    listeners[0]["filter_chains"][0]["filters"][0]["typed_config"].update(envoy_edge.CUSTOM_METHODS)  # as shipped
    worker = dict(workers_edge.corsguard(),
                  bindings={"UPSTREAM": f"http://127.0.0.1:{api_port}", "CORS_POLICY": json.dumps(policy)})
    fastly = fastly_edge.manifest(json.dumps(policy), f"http://127.0.0.1:{api_port}/")
    component = component_edge.build(policy, f"http://127.0.0.1:{api_port}", pathlib.Path(work.name) / "http.wasm")
    deploy = deno_edge.App("deno-deploy", "main.ts", policy, f"http://127.0.0.1:{api_port}")
    try:
        with envoy_edge.Envoy(listeners, api_port), workers_edge.Workerd({"browser": worker}) as workerd, \
                fastly_edge.Viceroys({"browser": fastly}) as viceroy, \
                component_edge.Hosts({"browser": ("wasmtime", component)}) as wasmtime, \
                deno_edge.Project() as project, deno_edge.Denos(project, {"browser": deploy}) as deno, \
                CountingProxy(envoy_port) as envoy, CountingProxy(workerd.ports["browser"]) as workers, \
                CountingProxy(viceroy.ports["browser"]) as compute, \
                CountingProxy(wasmtime.ports["browser"]) as wasi, CountingProxy(deno.ports["browser"]) as denos:
            edges = {"envoy": envoy, "workerd": workers, "fastly": compute, "wasmtime": wasi, "deno": denos}
            runs = []
            for edge, proxy in edges.items():
                for scenario in scenarios(page_port):
                    api_base = f"http://{scenario.get('host', 'api.example.test')}:{proxy.port}"
                    # A path per edge and scenario, so the preflight cache of one never serves another.
                    if scenario.get("raw_path"):
                        path = scenario["path"]
                    elif scenario["path"].startswith("/public/"):
                        path = f"{scenario['path']}/{edge}"
                    else:
                        path = f"/{edge}{scenario['path']}"
                    runs.append({**scenario, "edge": edge, "proxy": proxy, "page": scenario["origin"] + "/",
                                 "url": api_base + path, "countPath": path,
                                 "setCookie": api_base + scenario["setCookie"] if scenario.get("setCookie") else None})
            config = {"chromium": CHROMIUM, "hostMap": ["*.example.test", "*.example.test."],
                      "scenarios": [{k: r[k] for k in ("name", "page", "url", "init", "setCookie", "readHeader",
                                                        "repeat") if r.get(k) is not None} for r in runs]}
            config_path = f"{work.name}/scenarios.json"
            with open(config_path, "w") as f:
                json.dump(config, f)
            done = subprocess.run([str(NODE), str(DRIVER), config_path], cwd=harness.ROOT, capture_output=True,
                                  text=True, timeout=DRIVER_TIMEOUT)
            assert done.returncode == 0, f"the Chromium driver failed:\n{done.stderr[-4000:]}"
            results = json.loads(done.stdout)
    finally:
        page.shutdown()
        api.shutdown()

    rows, failures = [], []
    refused_method = {"NEW": refusing_edges(policy_path, "NEW")}
    assert refused_method["NEW"] == {"workerd"}, refused_method
    for run, result in zip(runs, results, strict=True):
        problems = []
        attempts = result["attempts"]
        allowed = all(a["ok"] for a in attempts)
        # The warned exception: the edge's server answers the request itself, without CORS headers.
        warned = run["edge"] in refused_method.get(run.get("custom_method"), set())
        if warned:
            if allowed:
                problems.append(f"check warns that {run['edge']} refuses {run['custom_method']}, but it worked")
            rows.append((run["name"], run["edge"], "pass (warned)" if not problems else "FAIL"))
            failures += [f"{run['name']} / {run['edge']}: {p}" for p in problems]
            continue
        if allowed != run["allowed"]:
            problems.append(f"browser {'allowed' if allowed else 'blocked'} it: {attempts}")
        if allowed and "bodyContains" in run and run["bodyContains"] not in attempts[0]["body"]:
            problems.append(f"body {attempts[0]['body']!r} lacks {run['bodyContains']!r}")
        if allowed and "readHeader" in run and attempts[0]["header"] != run["header"]:
            problems.append(f"{run['readHeader']}: script read {attempts[0]['header']!r}, want {run['header']!r}")
        if "preflights" in run:
            count = run["proxy"].counts.get(("OPTIONS", run["countPath"]), 0)
            if count != run["preflights"]:
                problems.append(f"{count} preflights reached the edge for {len(attempts)} requests, want "
                                f"{run['preflights']}")
        prediction = explain(policy_path, run, run["url"])
        if (prediction["verdict"] == "allowed") != run["allowed"]:
            problems.append(f"corsguard explain predicts {prediction['verdict']}")
        if not run["allowed"]:
            predicted = [s["browser"]["console"] for s in prediction["steps"]
                         if s.get("browser") and not s["browser"].get("passes", True)]
            if not predicted or predicted[-1] not in result["console"]:
                problems.append(f"console: browser printed {result['console']}, explain predicts {predicted}")
        rows.append((run["name"], run["edge"], "pass" if not problems else "FAIL"))
        failures += [f"{run['name']} / {run['edge']}: {p}" for p in problems]

    names = list(dict.fromkeys(r[0] for r in rows))
    cell = {(r[0], r[1]): r[2] for r in rows}
    width = max(map(len, names))
    edges = list(dict.fromkeys(r[1] for r in rows))
    column = max(len(c) for c in cell.values())
    table = [f"{'scenario':<{width}}  " + "  ".join(f"{e:<{column}}" for e in edges)]
    table += [f"{n:<{width}}  " + "  ".join(f"{cell[(n, e)]:<{column}}" for e in edges) for n in names]
    with capsys.disabled():
        print("\n" + "\n".join(table))
    assert not failures, "\n".join(failures)
