"""Three real browser engines, Chromium, Firefox and WebKit, make cross-origin requests through
corsguard on a real Envoy (the `.wasm` and the dynamic module), a real workerd, a real Viceroy
(Fastly Compute), the wasi:http component in real Wasmtime, and the npm package in real Deno (the
Deno Deploy example).

A page on one origin fetches an API on another, through each edge, under one policy. For each
scenario every engine must do what the policy intends (allowed: the script reads the body; refused:
the fetch fails), `corsguard explain --browser ENGINE` must predict the same verdict, and for a
refusal the engine's console message must be the one `explain` prints (Chromium and Firefox:
WebKitWebDriver gives no way to read WebKit's console). The suite prints a scenario x edge table for
each engine.

Every name is a subdomain of localhost, which each engine resolves to 127.0.0.1 itself (Chromium's
and Firefox's resolvers are also told to): nothing leaves the machine."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time

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
# Each engine: the binary the driver starts, and the command the driver runs under.
ENGINES = {
    "chromium": (shutil.which("chromium") or "/usr/bin/chromium", []),
    "firefox": (shutil.which("firefox-esr") or "/usr/bin/firefox-esr", []),
    # MiniBrowser has no headless mode: an X server of its own for each run.
    "webkit": ("/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser", ["xvfb-run", "-a"]),
}
WEBKIT_DRIVER = shutil.which("WebKitWebDriver") or "/usr/bin/WebKitWebDriver"
CLOCK_SHIFT = harness.ROOT / ".tools" / "clock_shift.so"
DRIVER_TIMEOUT = 300
# The engines whose console messages a driver can read.
CONSOLE_READ = {"chromium", "firefox"}


class Api(http.server.BaseHTTPRequestHandler):
    """The application behind the edges: sets a cookie, echoes the one it gets, and sends an
    exposed and an unexposed header (and a CORS header of its own, which the edge replaces)."""

    protocol_version = "HTTP/1.1"

    def answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps({"method": self.command, "cookie": self.headers.get("Cookie", "")}).encode()
        # What a rate limit and an authorization check in front of the application answer (on Envoy,
        # its own local_ratelimit and jwt_authn answer first: NEIGHBOURS).
        self.send_response(429 if "/limited/" in self.path else 401 if "/private/" in self.path else 200)
        if self.path.startswith("/legacy/"):
            # The CORS of its own that the policy leaves to it (a disabled route): Allow-Headers: *.
            self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin", ""))
            self.send_header("Access-Control-Allow-Methods", "PUT")
            self.send_header("Access-Control-Allow-Headers", "*")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
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
        # When each request arrived (wall-clock ms, the driver's clock): which attempt it served.
        self.times: dict[tuple[str, str], list[float]] = {}
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self) -> None:
                key = (self.command, self.path.split("?")[0])
                proxy.counts[key] = proxy.counts.get(key, 0) + 1
                proxy.times.setdefault(key, []).append(time.time() * 1000)
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


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """Quiet about connections an engine opened and dropped (speculative ones)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(handler) -> http.server.ThreadingHTTPServer:
    server = Server(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def policy_for(page_port: int) -> dict:
    return {
        "origins": [
            f"http://app.example.localhost:{page_port}",
            f"http://*.apps.example.localhost:{page_port}",
            f"http://pr-*.preview.example.localhost:{page_port}",
            "http://localhost:*",
        ],
        "methods": ["PUT", "DELETE", "NEW"],
        "request_headers": ["Content-Type", "X-Api-Key"],
        "expose_headers": ["X-Request-Id"],
        "credentials": True,
        "max_age": 600,
        "routes": [
            # Only app may read /admin/ and the admin host; the top level also allows *.apps.
            {"host": "admin.example.localhost", "origins": [f"http://app.example.localhost:{page_port}"]},
            {"path_prefix": "/admin/", "origins": [f"http://app.example.localhost:{page_port}"]},
            {"path_prefix": "/public/", "origins": ["*"], "credentials": False},
            # Where engines could differ: * and Authorization, from corsguard and from the upstream;
            # a method's case.
            {"path_prefix": "/open/", "request_headers": ["*"], "credentials": False},
            {"path_prefix": "/legacy/", "disabled": True},
            {"path_prefix": "/cased/", "methods": ["PATCH"]},
            {"path_prefix": "/long-cache/", "max_age": 86400},
        ],
    }


def scenarios(page_port: int) -> list[dict]:
    """(name, page origin, path, fetch init, intent, extra checks)."""
    app = f"http://app.example.localhost:{page_port}"
    evil = f"http://evil.example.localhost:{page_port}"
    sub = f"http://one.apps.example.localhost:{page_port}"
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
        {"name": "subdomain pattern", "origin": f"http://one.apps.example.localhost:{page_port}", "path": "/api/items",
         "init": {}, "allowed": True},
        {"name": "the pattern's apex is refused", "origin": f"http://apps.example.localhost:{page_port}",
         "path": "/api/items", "init": {}, "allowed": False},
        {"name": "port pattern", "origin": f"http://localhost:{page_port}", "path": "/api/items", "init": {},
         "allowed": True},
        {"name": "preview-deployment pattern", "origin": f"http://pr-42.preview.example.localhost:{page_port}",
         "path": "/api/items", "init": {"credentials": "include"}, "allowed": True},
        {"name": "a preview pattern's * is no hyphen", "origin": f"http://pr-4-2.preview.example.localhost:{page_port}",
         "path": "/api/items", "init": {}, "allowed": False},
        {"name": "nor another label", "origin": f"http://pr-1.x.preview.example.localhost:{page_port}",
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
         "raw_path": True, "host": "admin.example.localhost.", "init": {"credentials": "include"}, "allowed": False},
        {"name": "and allows its own origin there", "origin": app, "path": "/api/x", "raw_path": True,
         "host": "admin.example.localhost.", "init": {"credentials": "include"}, "allowed": True},
        {"name": "the top level allows the other origin elsewhere", "origin": sub, "path": "/api/x",
         "raw_path": True, "init": {"credentials": "include"}, "allowed": True},
        # Where engines could differ (each was observed, not assumed).
        {"name": "corsguard's * does not cover Authorization", "origin": app, "path": "/open/x",
         "init": {"method": "PUT", "headers": {"Authorization": "Bearer t"}}, "allowed": False},
        {"name": "but it covers other headers", "origin": app, "path": "/open/x",
         "init": {"method": "PUT", "headers": {"X-Anything": "1"}}, "allowed": True},
        # An upstream's own `Access-Control-Allow-Headers: *` (Fetch: never Authorization): every
        # engine lets it through; `corsguard probe` must say so, with its warning.
        {"name": "an upstream's * covers Authorization in every engine", "origin": app, "path": "/legacy/x",
         "init": {"method": "PUT", "headers": {"Authorization": "Bearer t"}}, "allowed": True, "judge": "probe"},
        # The answers of a rate limit and of an authorization check carry CORS: the script reads the
        # status, never a network error (a preflight is answered before the rate limit).
        {"name": "a rate limit's 429 is read as a 429", "origin": app, "path": "/limited/x", "raw_path": True,
         "init": {"method": "PUT", "headers": {"X-Api-Key": "k"}}, "allowed": True, "repeat": 2, "status": 429},
        {"name": "an authorization check's 401 is read as a 401", "origin": app, "path": "/private/x",
         "raw_path": True, "init": {"credentials": "include"}, "allowed": True, "status": 401},
        {"name": "PATCH is sent as written", "origin": app, "path": "/cased/x", "init": {"method": "PATCH"},
         "allowed": True},
        {"name": "and patch is not PATCH", "origin": app, "path": "/cased/y", "init": {"method": "patch"},
         "allowed": False},
    ]


# On Envoy, the filters after corsguard that answer themselves: a rate limit of one request an hour
# on /limited/ (LIMITED_ROUTE) and a JWT required on /private/.
NEIGHBOURS = [
    {"name": "envoy.filters.http.local_ratelimit", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
        "stat_prefix": "rate_limit"}},
    {"name": "envoy.filters.http.jwt_authn", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
        "providers": {"issuer": {"issuer": "https://issuer.test", "local_jwks": {
            "inline_string": json.dumps({"keys": [{"kty": "oct", "alg": "HS256", "k": "c2VjcmV0LWtleQ"}]})}}},
        "rules": [{"match": {"prefix": "/private/"}, "requires": {"provider_name": "issuer"}}]}},
]
ALWAYS = {"default_value": {"numerator": 100, "denominator": "HUNDRED"}}
LIMITED_ROUTE = {"match": {"prefix": "/limited/"}, "route": {"cluster": "upstream"}, "typed_per_filter_config": {
    "envoy.filters.http.local_ratelimit": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
        "stat_prefix": "rate_limit",
        "token_bucket": {"max_tokens": 1, "tokens_per_fill": 1, "fill_interval": "3600s"},
        "filter_enabled": {"runtime_key": "rate_limit_enabled", **ALWAYS},
        "filter_enforced": {"runtime_key": "rate_limit_enforced", **ALWAYS}}}}


# The words with which `corsguard check` names each edge's server when it warns that it refuses a
# method (cli/src/edge_methods.rs).
SERVER_WORDS = {"envoy": "Envoy 1.40", "envoy-module": "Envoy 1.40", "workerd": "workerd", "fastly": "Viceroy"}


def refusing_edges(policy_path: str, method: str) -> set[str]:
    """The edges whose server `corsguard check` says refuses `method` before corsguard runs."""
    done = subprocess.run([str(CLI), "check", policy_path, "--format", "json"], capture_output=True, text=True,
                          timeout=30)
    messages = [p["message"] for p in json.loads(done.stdout)["problems"] if p["code"] == "edge-refuses-method"]
    return {edge for edge, words in SERVER_WORDS.items()
            if any(m.startswith(words) and f" to {method} before" in m for m in messages)}


def explain(policy_path: str, scenario: dict, url: str, engine: str) -> dict:
    """What `corsguard explain --browser ENGINE` predicts for the scenario's fetch."""
    init = scenario["init"]
    args = [str(CLI), "explain", policy_path, "--origin", scenario["origin"], "--url", url,
            "--method", init.get("method", "GET"), "--browser", engine, "--format", "json"]
    for name, value in init.get("headers", {}).items():
        args += ["-H", f"{name}: {value}"]
    if init.get("credentials") == "include":
        args.append("--credentials")
    done = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def probe(run: dict, engine: str) -> dict:
    """What `corsguard probe --browser ENGINE` judges of the live edge's answers to the scenario's
    fetch (sent to 127.0.0.1: the command resolves no *.localhost names)."""
    init = run["init"]
    url = f"http://127.0.0.1:{run['proxy'].port}{run['countPath']}"
    args = [str(CLI), "probe", url, "--origin", run["origin"], "--method", init.get("method", "GET"),
            "--browser", engine, "--format", "json"]
    for name, value in init.get("headers", {}).items():
        args += ["-H", f"{name}: {value}"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def tools(every_edge):
    modules = harness.ROOT / "node_modules"
    needed = {"Chromium": ENGINES["chromium"][0], "Firefox ESR": ENGINES["firefox"][0],
              "WebKitGTK's MiniBrowser": ENGINES["webkit"][0], "WebKitWebDriver": WEBKIT_DRIVER,
              "xvfb-run": shutil.which("xvfb-run"), "Node 22 (npm node)": NODE,
              "playwright-core": modules / "playwright-core", "puppeteer-core": modules / "puppeteer-core",
              "selenium-webdriver": modules / "selenium-webdriver",
              "the clock shim (scripts/setup.sh browser)": CLOCK_SHIFT}
    absent = [name for name, path in needed.items() if path is None or not os.path.exists(path)]
    harness.require(absent, "scripts/setup.sh browser")


def plan(engine: str, edges: dict, page_port: int) -> list[dict]:
    """Every scenario through every edge, for one engine: a path per engine, edge and scenario, so
    that one preflight cache never serves another's request (and preflights count apart)."""
    routed = tuple(route["path_prefix"] for route in policy_for(page_port)["routes"] if "path_prefix" in route)
    runs = []
    for edge, proxy in edges.items():
        for scenario in scenarios(page_port):
            api_base = f"http://{scenario.get('host', 'api.example.localhost')}:{proxy.port}"
            if scenario.get("raw_path"):
                path = scenario["path"]
            elif scenario["path"].startswith(routed):
                path = f"{scenario['path']}/{edge}/{engine}"
            else:
                path = f"/{edge}/{engine}{scenario['path']}"
            runs.append({**scenario, "edge": edge, "proxy": proxy, "page": scenario["origin"] + "/",
                         "url": api_base + path, "countPath": path,
                         "setCookie": api_base + scenario["setCookie"] if scenario.get("setCookie") else None})
    return runs


def start(engine: str, runs: list[dict], config_path: str, clock: str | None = None) -> subprocess.Popen:
    """Starts the real engine on the scenarios (its driver writes what each page saw); with `clock`
    (a file), the engine runs with tests/browser/clock_shift.c, which the scenarios' shifts move."""
    binary, prefix = ENGINES[engine]
    keys = ("name", "page", "url", "init", "setCookie", "readHeader", "repeat", "shifts")
    # The cache scenario needs no trailing-dot host, which would make Firefox drop cached preflights.
    names = ["*.example.localhost"] if clock else ["*.example.localhost", "*.example.localhost."]
    config = {"engine": engine, "binary": binary, "hostMap": names,
              "scenarios": [{k: r[k] for k in keys if r.get(k) is not None} for r in runs]}
    if clock:
        config["clockShift"] = {"library": str(CLOCK_SHIFT), "file": clock}
    with open(config_path, "w") as f:
        json.dump(config, f)
    return subprocess.Popen([*prefix, str(NODE), str(DRIVER), config_path], cwd=harness.ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def finish(engine: str, driver: subprocess.Popen, timeout: float) -> tuple[str, list[dict]]:
    """The engine's version, and what each page saw."""
    try:
        out, err = driver.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(driver.pid, 9)
        raise
    assert driver.returncode == 0, f"the {engine} driver failed:\n{err[-4000:]}"
    output = json.loads(out)
    return output["version"], output["results"]


def drive(engine: str, runs: list[dict], work: str) -> tuple[str, list[dict]]:
    return finish(engine, start(engine, runs, f"{work}/{engine}.json"), DRIVER_TIMEOUT)


# Where each attempt of the cache scenario happens on the engine's monotonic clock, in seconds:
# just before and just after each engine's cap on a cached preflight (WebKit 600 s, Chromium 7200 s,
# Firefox 86400 s), and past a cap counted from a preflight sent again.
CACHE_SHIFTS = [0, 590, 610, 7190, 7210, 86390, 86410]


def cache_run(engine: str, edges: dict, page_port: int) -> dict:
    """A preflighted request, sent at each of CACHE_SHIFTS on an engine whose clock is moved there,
    on a route whose answers ask to be cached for 86400 s: each attempt sends a preflight only if
    the engine no longer keeps the last one."""
    proxy = edges["envoy"]
    app = f"http://app.example.localhost:{page_port}"
    path = f"/long-cache/x/{engine}"
    return {"name": "a 86400 s preflight cache, over a day of clock", "origin": app, "page": app + "/",
            "countPath": path, "proxy": proxy, "url": f"http://api.example.localhost:{proxy.port}{path}",
            "edge": "envoy", "allowed": True, "shifts": CACHE_SHIFTS,
            "init": {"method": "PUT", "headers": {"X-Api-Key": "k"}}}


def judge(engine: str, run: dict, result: dict, policy_path: str, refused_method: dict) -> list[str]:
    """Every way the engine's handling of one scenario differs from the policy's intent and from
    what `corsguard explain --browser ENGINE` predicts."""
    problems = []
    attempts = result["attempts"]
    allowed = all(a["ok"] for a in attempts)
    # The warned exception: the edge's server answers the request itself, without CORS headers.
    if run["edge"] in refused_method.get(run.get("custom_method"), set()):
        return [f"check warns that {run['edge']} refuses {run['custom_method']}, but it worked"] if allowed else []
    if allowed != run["allowed"]:
        problems.append(f"the engine {'allowed' if allowed else 'blocked'} it: {attempts}")
    if allowed and "status" in run and [a["status"] for a in attempts] != [run["status"]] * len(attempts):
        problems.append(f"the script read statuses {[a['status'] for a in attempts]}, want {run['status']}")
    if allowed and "bodyContains" in run and run["bodyContains"] not in attempts[0]["body"]:
        problems.append(f"body {attempts[0]['body']!r} lacks {run['bodyContains']!r}")
    if allowed and "readHeader" in run and attempts[0]["header"] != run["header"]:
        problems.append(f"{run['readHeader']}: script read {attempts[0]['header']!r}, want {run['header']!r}")
    if "preflights" in run:
        count = run["proxy"].counts.get(("OPTIONS", run["countPath"]), 0)
        if count != run["preflights"]:
            problems.append(f"{count} preflights reached the edge for {len(attempts)} requests, want "
                            f"{run['preflights']}")
    if run.get("judge") == "probe":
        verdict = run["probed"]
        if (verdict["verdict"] == "allowed") != run["allowed"]:
            problems.append(f"corsguard probe judges {verdict['verdict']}: {verdict}")
        return problems
    prediction = explain(policy_path, run, run["url"], engine)
    if (prediction["verdict"] == "allowed") != run["allowed"]:
        problems.append(f"corsguard explain predicts {prediction['verdict']}")
    if not run["allowed"] and engine in CONSOLE_READ:
        predicted = [s["browser"]["console"] for s in prediction["steps"]
                     if s.get("browser") and not s["browser"].get("passes", True)]
        if not predicted or not any(predicted[-1] in line for line in result["console"]):
            problems.append(f"console: the engine printed {result['console']}, explain predicts {predicted}")
    return problems


def judge_cache(engine: str, run: dict, result: dict, policy_path: str) -> list[str]:
    """The engine sent a preflight at exactly the attempts `explain --browser ENGINE` says it
    would: those more than the cached lifetime after the last preflight."""
    attempts = result["attempts"]
    problems = [] if all(a["ok"] for a in attempts) else [f"blocked: {attempts}"]
    prediction = explain(policy_path, run, run["url"], engine)
    cached = prediction["steps"][0]["browser"].get("cached")
    seconds = cached[0]["seconds"] if cached else 86400
    want, last = [], None
    for at in run["shifts"]:
        sent = last is None or at - last >= seconds
        last = at if sent else last
        want.append(int(sent))
    arrivals = run["proxy"].times.get(("OPTIONS", run["countPath"]), [])
    seen = [sum(1 for t in arrivals if a["at"][0] <= t <= a["at"][1]) for a in attempts]
    if seen != want or len(arrivals) != sum(want):
        problems.append(f"preflights per attempt at {run['shifts']} s: {seen} ({len(arrivals)} in all); explain "
                        f"says the answer is cached {seconds} s, so {want}")
    return problems


def table(version: str, cells: dict[tuple[str, str], str]) -> str:
    """One engine's scenario x edge table."""
    names = list(dict.fromkeys(name for name, _ in cells))
    edges = list(dict.fromkeys(edge for _, edge in cells))
    width = max(map(len, names))
    column = max(len(c) for c in [*cells.values(), *edges])
    lines = [f"{version:<{width}}  " + "  ".join(f"{e:<{column}}" for e in edges)]
    lines += [f"{n:<{width}}  " + "  ".join(f"{cells.get((n, e), '-'):<{column}}" for e in edges) for n in names]
    return "\n".join(lines)


def test_every_engine_agrees_with_the_policy_and_with_explain(tools, capsys, request):
    page = serve(Page)
    api = serve(Api)
    page_port, api_port = page.server_address[1], api.server_address[1]
    policy = policy_for(page_port)
    work = tempfile.TemporaryDirectory(prefix="corsguard-browser-")
    request.addfinalizer(work.cleanup)
    policy_path = f"{work.name}/policy.json"
    with open(policy_path, "w") as f:
        json.dump(policy, f)
    envoy_port, module_port = harness.free_ports(2)
    listeners = [envoy_edge.listener("browser", envoy_port, [envoy_edge.wasm_filter(policy), *NEIGHBOURS]),
                 envoy_edge.listener("module", module_port, [envoy_edge.module_filter(policy), *NEIGHBOURS])]
    for listener in listeners:
        hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
        hcm.update(envoy_edge.CUSTOM_METHODS)  # as shipped
        hcm["route_config"]["virtual_hosts"][0]["routes"].insert(0, LIMITED_ROUTE)
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
                CountingProxy(envoy_port) as envoy, CountingProxy(module_port) as module, \
                CountingProxy(workerd.ports["browser"]) as workers, \
                CountingProxy(viceroy.ports["browser"]) as compute, \
                CountingProxy(wasmtime.ports["browser"]) as wasi, CountingProxy(deno.ports["browser"]) as denos:
            edges = {"envoy": envoy, "envoy-module": module, "workerd": workers, "fastly": compute,
                     "wasmtime": wasi, "deno": denos}
            runs = {engine: plan(engine, edges, page_port) for engine in ENGINES}
            observed = {engine: drive(engine, runs[engine], work.name) for engine in ENGINES}
            # The cache scenario moves its engine's clock: an engine of its own.
            caching = {engine: cache_run(engine, edges, page_port) for engine in ENGINES}
            cached = {engine: finish(engine, start(engine, [run], f"{work.name}/{engine}-cache.json",
                                                   f"{work.name}/{engine}.clock"), DRIVER_TIMEOUT)[1][-1]
                      for engine, run in caching.items()}
            for engine in ENGINES:  # while the edges still serve
                for run in runs[engine]:
                    if run.get("judge") == "probe":
                        run["probed"] = probe(run, engine)
    finally:
        page.shutdown()
        api.shutdown()

    refused_method = {"NEW": refusing_edges(policy_path, "NEW")}
    assert refused_method["NEW"] == {"workerd"}, refused_method
    failures, tables = [], []
    for engine, (version, results) in observed.items():
        cells = {}
        for run, result in zip(runs[engine], results, strict=True):
            problems = judge(engine, run, result, policy_path, refused_method)
            warned = run["edge"] in refused_method.get(run.get("custom_method"), set())
            cells[(run["name"], run["edge"])] = "FAIL" if problems else "pass (warned)" if warned else "pass"
            failures += [f"{engine} / {run['name']} / {run['edge']}: {p}" for p in problems]
        run, result = caching[engine], cached[engine]
        problems = judge_cache(engine, run, result, policy_path)
        cells[(run["name"], "envoy")] = "FAIL" if problems else "pass"
        failures += [f"{engine} / {run['name']}: {p}" for p in problems]
        tables.append(table(version, cells))
    with capsys.disabled():
        print("\n" + "\n\n".join(tables))
    assert not failures, "\n".join(failures)
