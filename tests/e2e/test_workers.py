"""corsguard's Cloudflare Worker in real workerd: every conformance vector, the proxy's own duties,
hostile input, broken policies, the policies of wrangler.toml, and `wrangler dev` itself.

Every Worker but the `wrangler dev` one runs in a single workerd (one start-up), each with its own
policy on its own 127.0.0.1 port, in front of the harness's upstream."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import threading
import time

import pytest

import harness
import proxy_duties
import workers_edge

ALLOWED = harness.ALLOWED

GUARD_POLICY, BAD_POLICY, WARNED_POLICY = harness.GUARD_POLICY, harness.BAD_POLICY, harness.WARNED_POLICY

FILES = harness.vector_files()
VALIDATION = harness.validation_cases()


# The Analytics Engine binding `corsguard emit wrangler --analytics` declares, which the Worker writes to.
ANALYTICS_BINDING = re.search(r'WRANGLER_ANALYTICS_BINDING: &str = "(\w+)"',
                              (harness.ROOT / "cli" / "src" / "emit.rs").read_text()).group(1)
ANALYTICS_POLICY = {"origins": [ALLOWED], "methods": ["PUT"], "routes": [
    {"path_prefix": "/public/", "origins": ["*"]}, {"path_prefix": "/internal/", "disabled": True}]}
# workerd's own Analytics Engine binding discards data points locally: the corsguard Worker runs
# behind an entry point that gives it one that prints each as a line.
RECORDER = {"type": "ESModule", "path": str(workers_edge.BUILD / "analytics-recorder.mjs"), "contents": f"""
import worker from "./worker/shim.mjs";
const dataset = {{ writeDataPoint(point) {{ console.log("analytics-data-point " + JSON.stringify(point)); }} }};
export default {{ fetch: (request, env, ctx) => worker.fetch(request, {{ ...env, {ANALYTICS_BINDING}: dataset }}, ctx) }};
"""}


def vector_worker(path) -> str:
    return f"vector-{path.stem}"


@pytest.fixture(scope="session")
def built() -> None:
    harness.require(workers_edge.missing(), "scripts/setup.sh workers")
    workers_edge.build()


@pytest.fixture(scope="module")
def edge(built, upstream):
    url = f"http://127.0.0.1:{upstream.port}"
    corsguard = workers_edge.corsguard()

    def worker(policy, **bindings):
        if policy is not None:
            bindings["CORS_POLICY"] = policy if isinstance(policy, str) else json.dumps(policy)
        return dict(corsguard, bindings={"UPSTREAM": url, **bindings})

    workers = {vector_worker(path): worker(harness.load(path)["policy"]) for path in FILES}
    workers["guard"] = worker(GUARD_POLICY)
    workers["bad"] = worker(BAD_POLICY)
    workers["not-json"] = worker('{"origins": [')
    workers["unset"] = worker(None)
    workers["warned"] = worker(WARNED_POLICY)
    workers["bad-upstream"] = worker(GUARD_POLICY, UPSTREAM="localhost:8080")
    workers["dead-upstream"] = worker(GUARD_POLICY, UPSTREAM=f"http://127.0.0.1:{harness.free_port()}")
    workers["timeout"] = worker(GUARD_POLICY, UPSTREAM_TIMEOUT="0.5")
    workers["bad-timeout"] = worker(GUARD_POLICY, UPSTREAM_TIMEOUT="30s")
    # A TOML table in wrangler.toml reaches the Worker as an object, not a string: refused.
    workers["object"] = dict(corsguard, bindings={"UPSTREAM": url, "CORS_POLICY": GUARD_POLICY})
    for index, case in enumerate(VALIDATION):
        workers[f"validation-{index}"] = worker(harness.policy_text(case))
    workers["analytics"] = dict(worker(ANALYTICS_POLICY), modules=[RECORDER, *corsguard["modules"]])
    config = workers_edge.config()
    for env, section in [("default", config), *config.get("env", {}).items()]:
        workers[f"env-{env}"] = worker(section["vars"]["CORS_POLICY"])
    with workers_edge.Workerd(workers) as edge:
        yield edge


def request(edge, upstream, worker: str, req: dict) -> tuple[int, list[tuple[str, str]], bytes, bool]:
    return proxy_duties.exchange(edge.ports[worker], upstream, req)


values, preflight = proxy_duties.values, proxy_duties.preflight


# --- conformance vectors -------------------------------------------------------------------------

def test_there_are_vectors_to_replay():
    assert FILES, "tests/vectors/decisions/ has no vector file"


@pytest.mark.parametrize("path,case", [(path, case) for path in FILES for case in harness.load(path)["cases"]],
                         ids=[f"{path.stem}: {case['name']}" for path in FILES for case in harness.load(path)["cases"]])
def test_vector(edge, upstream, path, case):
    status, headers, body, reached = request(edge, upstream, vector_worker(path), case["request"])
    assert harness.check(case, status, headers, body, reached) == []


# --- the proxy's own duties ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def guard(edge) -> int:
    return edge.ports["guard"]


@pytest.fixture(scope="module")
def guard_log(edge):
    return edge.log


@pytest.fixture(scope="module")
def routes(edge) -> int:
    return edge.ports["vector-route-confusion"]


class TestProxyDuties(proxy_duties.Suite):
    pass


def test_a_request_with_a_body_is_forwarded(edge, upstream):
    before = upstream.hits
    status, headers, body = workers_edge.send_raw(
        edge.ports["guard"], b"POST /api HTTP/1.1\r\nHost: api.test\r\nOrigin: " + ALLOWED.encode()
        + b"\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
    assert (status, body, upstream.hits) == (200, harness.UPSTREAM_BODY, before + 1)
    assert values(headers, "access-control-allow-origin") == [ALLOWED]


def test_each_cors_decision_is_a_data_point_in_the_analytics_engine_dataset(edge, upstream):
    """The blobs are the series' labels (kind, outcome, reason, mode) and the route, the double a
    count of 1; requests without Origin and on a disabled route are no CORS decision."""
    evil = "https://evil.example"
    mix = [
        (preflight(), ["preflight", "allowed", "", "enforce", ""]),
        (preflight(origin=evil), ["preflight", "denied", "origin_not_allowed", "enforce", ""]),
        (preflight(method="DELETE"), ["preflight", "denied", "method_not_allowed", "enforce", ""]),
        ({"path": "/api/x", "headers": {"Origin": ALLOWED}}, ["actual", "allowed", "", "enforce", ""]),
        ({"path": "/public/x", "headers": {"Origin": evil}}, ["actual", "allowed", "", "enforce", "routes[0]"]),
        ({"path": "/internal/x", "headers": {"Origin": evil}}, None),
        ({"path": "/api/x"}, None),
    ]
    for req, blobs in mix:
        before = len(data_points(edge))
        request(edge, upstream, "analytics", req)
        want = [] if blobs is None else [{"blobs": blobs, "doubles": [1]}]
        deadline = time.monotonic() + 5
        while data_points(edge)[before:] != want and time.monotonic() < deadline:
            time.sleep(0.05)
        assert data_points(edge)[before:] == want, req


def data_points(edge) -> list[dict]:
    return [json.loads(line.split("analytics-data-point ", 1)[1]) for line in edge.log().splitlines()
            if "analytics-data-point " in line]


def test_an_unreachable_upstream_is_a_502_with_cors_headers_and_preflights_still_work(edge, upstream):
    proxy_duties.an_unreachable_upstream_is_a_502_with_cors_headers(
        edge.ports["dead-upstream"], upstream, b"corsguard: the upstream did not answer\n")


def test_an_upstream_slower_than_upstream_timeout_is_a_504_with_cors_headers(edge, upstream):
    proxy_duties.a_slow_upstream_is_a_5xx_with_cors_headers(
        edge.ports["timeout"], upstream, 504, b"corsguard: the upstream did not answer in time\n")
    # Only the head is timed: a body that streams for longer than the timeout still arrives whole.
    upstream.release.clear()
    threading.Timer(1.0, upstream.release.set).start()
    status, _, body, _ = request(edge, upstream, "timeout", {"path": "/stream/", "headers": {"Origin": ALLOWED}})
    assert (status, body) == (200, harness.STREAM_HEAD + harness.STREAM_TAIL)


@pytest.fixture(scope="module")
def socket_edge(built):
    """A Worker in front of a WebSocket echo server of its own."""
    server = socket.create_server(("127.0.0.1", 0))

    def echo(conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(4096)
            key = re.search(rb"(?i)sec-websocket-key: *(\S+)", head).group(1)
            accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            frame = conn.recv(4096)  # one short masked text frame: opcode, length, mask, payload
            length, mask = frame[1] & 0x7F, frame[2:6]
            conn.sendall(bytes([0x81, length]) + bytes(b ^ mask[i % 4] for i, b in enumerate(frame[6:6 + length])))

    def serve() -> None:
        with server:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                threading.Thread(target=echo, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}"
    worker = dict(workers_edge.corsguard(), bindings={"UPSTREAM": url, "CORS_POLICY": json.dumps(GUARD_POLICY)})
    with workers_edge.Workerd({"socket": worker}) as edge:
        yield edge.ports["socket"]
    server.close()


def test_a_websocket_upgrade_passes_through(socket_edge):
    """The upstream's 101 reaches the client and the socket echoes through the Worker."""
    proxy_duties.a_websocket_echoes_through(socket_edge)


def test_the_worker_decides_on_the_url_it_forwards(edge, upstream):
    """workerd hands the Worker the path as the client wrote it, and `fetch` sends the parsed one:
    the decision is made on what is sent (the top level's answer, not the /public/ route's *)."""
    for path, sent in [("/public/../api/x", "/api/x"), ("/public/%2e%2e/api/x", "/api/x"),
                       ("/public\\..\\api\\x", "/api/x")]:
        status, headers, _, reached = request(edge, upstream, "vector-routes", {"path": path, "headers": {
            "Origin": "https://app.example.com"}})
        assert (status, reached, upstream.paths[-1]) == (200, True, sent), path
        assert values(headers, "access-control-allow-origin") == ["https://app.example.com"], path
        assert values(headers, "access-control-allow-credentials") == ["true"], path


# --- hostile input -------------------------------------------------------------------------------

def test_nothing_trapped(edge, upstream):
    proxy_duties.still_serving(edge.ports["guard"], upstream)
    log = edge.log()
    for sign in ["panicked", "RuntimeError", "unreachable", "Module terminated", "Uncaught"]:
        assert sign not in log, log[-4000:]


# --- broken policies -----------------------------------------------------------------------------

@pytest.mark.parametrize("req", [preflight(), {"headers": {"Origin": ALLOWED}}, {"method": "POST"}, {"path": "/"}],
                         ids=["preflight", "GET with origin", "POST", "GET"])
def test_an_invalid_policy_refuses_everything_with_a_clear_500(edge, upstream, req):
    proxy_duties.an_invalid_policy_refuses_with_a_clear_500(
        edge.ports["bad"], upstream, req, "CORS_POLICY is not a valid policy; its problems are in the Worker's log")
    assert 'origins[0]: "https://bad.example.com/" has a trailing slash' in edge.log()
    assert '"*" cannot be used with credentials: true' in edge.log()


def test_an_unreadable_or_missing_policy_or_a_bad_upstream_refuses_everything(edge, upstream):
    for worker, says in [("not-json", "CORS_POLICY is not a valid policy"),
                         ("unset", "the CORS_POLICY variable is not set"),
                         ("bad-upstream", "UPSTREAM is not an http:// or https:// URL; see the Worker's log"),
                         ("bad-timeout", "UPSTREAM_TIMEOUT is not a number of seconds; see the Worker's log")]:
        for req in [preflight(), {"headers": {"Origin": ALLOWED}}]:
            status, headers, body, reached = request(edge, upstream, worker, req)
            assert (status, reached) == (500, False)
            assert says in body.decode()
    assert "not valid JSON" in edge.log()
    assert 'UPSTREAM is "localhost:8080": give an http:// or https:// URL' in edge.log()
    assert 'UPSTREAM_TIMEOUT is "30s": give a number of seconds, above 0 and at most 600' in edge.log()


def test_policy_problems_are_logged_once_per_isolate(edge, upstream):
    for _ in range(3):
        assert request(edge, upstream, "bad", preflight())[0] == 500
        assert request(edge, upstream, "warned", preflight(method="GET"))[0] == 204
    log = edge.log()
    assert log.count('error[trailing-slash]: origins[0]: "https://bad.example.com/" has a trailing slash') == 1, log[-4000:]
    assert log.count("corsguard: CORS_POLICY: warning[listed-twice]: origins[1]:") == 1, log[-4000:]


def test_policy_problems_are_logged_as_the_worker_starts(built):
    worker = dict(workers_edge.corsguard(), bindings={"CORS_POLICY": json.dumps(BAD_POLICY)})
    with workers_edge.Workerd({"bad": worker}) as edge:
        deadline = time.monotonic() + 10
        while "trailing slash" not in edge.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert 'error[trailing-slash]: origins[0]: "https://bad.example.com/" has a trailing slash' in edge.log()  # before any request


@pytest.mark.parametrize("index", range(len(VALIDATION)), ids=[c["name"] for c in VALIDATION])
def test_validation_vector(edge, upstream, index):
    """Each validation case as a Worker's CORS_POLICY: refused with a 500 and every error logged, or
    serving with every warning logged."""
    case = VALIDATION[index]
    status, _, _, reached = request(edge, upstream, f"validation-{index}", {"path": "/"})
    assert (status, reached) == ((500, False) if case["errors"] else (200, True))
    proxy_duties.every_problem_is_logged(case, edge.log())


def test_a_policy_given_as_an_object_is_refused(edge, upstream):
    """A TOML table has already lost any key given twice: only the policy's text is read."""
    for req in [preflight(), {"headers": {"Origin": ALLOWED}}]:
        status, _, body, reached = request(edge, upstream, "object", req)
        assert (status, reached) == (500, False)
        assert b"CORS_POLICY is not text; see the Worker's log" in body
    assert "CORS_POLICY is an object, not the policy file's text: give it as a string" in edge.log()


# --- wrangler.toml -------------------------------------------------------------------------------

def test_wrangler_toml_environments_differ_as_documented():
    """Generated from examples/environments.json (cli/tests/generated.rs keeps them so)."""
    config = workers_edge.config()
    dev, prod = config["env"]["development"], config["env"]["production"]
    assert "localhost" not in prod["vars"]["CORS_POLICY"]
    assert "UPSTREAM" not in prod["vars"]  # on a route, requests go on to the zone's origin
    assert "localhost" in dev["vars"]["CORS_POLICY"] and dev["vars"]["UPSTREAM"]
    assert config["build"]["command"] == "sh cloudflare/build.sh"


@pytest.mark.parametrize("env,origin,allowed", [
    ("default", "http://localhost:5173", True),
    ("default", "https://app.example.com", True),
    ("default", "https://evil.example", False),
    ("development", "http://localhost:5173", True),
    ("development", "https://app.example.com", False),
    ("production", "https://app.example.com", True),
    ("production", "https://admin.example.com", True),
    ("production", "http://localhost:5173", False),
    ("production", "https://staging.example.com", False),
])
def test_wrangler_toml_policies_in_workerd(edge, upstream, env, origin, allowed):
    status, headers, _, reached = request(edge, upstream, f"env-{env}", preflight(origin, **{
        "Access-Control-Request-Headers": "content-type"}))
    assert not reached
    assert status == (204 if allowed else 403)
    assert values(headers, "access-control-allow-origin") == ([origin] if allowed else [])


def test_wrangler_dev_builds_and_serves_the_demo(built, upstream):
    with workers_edge.WranglerDev(["--var", f"UPSTREAM:http://127.0.0.1:{upstream.port}"]) as dev:
        before = upstream.hits
        status, headers, _ = harness.send(dev.port, preflight("http://localhost:5173", "DELETE", **{
            "Access-Control-Request-Headers": "Authorization"}))
        assert (status, upstream.hits) == (204, before)
        assert values(headers, "access-control-allow-origin") == ["http://localhost:5173"]
        assert values(headers, "access-control-allow-credentials") == ["true"]
        assert values(headers, "access-control-max-age") == ["7200"]

        status, headers, body = harness.send(dev.port, {"path": "/api", "headers": {"Origin": "http://localhost:5173"}})
        assert (status, body) == (200, harness.UPSTREAM_BODY)
        assert values(headers, "access-control-allow-origin") == ["http://localhost:5173"]
        assert harness.tokens(values(headers, "vary")) == ["accept-encoding", "origin"]

        status, headers, body = harness.send(dev.port, {"path": "/public/logo.png", "headers": {"Origin": "https://evil.example"}})
        assert values(headers, "access-control-allow-origin") == ["*"]

        # A disabled route: the upstream's answer, its own CORS headers and all.
        status, headers, body = harness.send(dev.port, {"path": "/internal/x", "headers": {"Origin": "https://evil.example"}})
        assert values(headers, "access-control-allow-origin") == ["https://upstream.invalid"]

        status, headers, body = harness.send(dev.port, {"path": "/api", "headers": {"Origin": "https://evil.example"}})
        assert values(headers, "access-control-allow-origin") == []
        assert values(headers, "corsguard-reason") == ["origin-not-allowed"]
