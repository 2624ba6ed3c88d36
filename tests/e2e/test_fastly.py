"""corsguard's Fastly Compute app in real Viceroy: every conformance vector, the proxy's own duties,
hostile input, broken and warned policies, the decision on exactly what is forwarded, and the
repository's fastly.toml.

Each app runs in its own Viceroy (one per policy, each on its own 127.0.0.1 port) in front of the
harness's upstream, with the policy in its `corsguard` Config Store as a user deploys it."""

from __future__ import annotations

import http.client
import json
import tomllib

import pytest

import fastly_edge
import harness
import proxy_duties
import workers_edge

ALLOWED = harness.ALLOWED
FILES = harness.vector_files()
VALIDATION = harness.validation_cases()
REPORT_ONLY_POLICY = {"origins": [ALLOWED], "mode": "report-only", "debug": True}


@pytest.fixture(scope="module")
def built() -> None:
    harness.require(fastly_edge.missing(), "scripts/setup.sh fastly node")
    fastly_edge.build()


def shipped(backend: str) -> str:
    """The repository's fastly/fastly.toml, its local backend pointed at `backend`."""
    text = fastly_edge.MANIFEST.read_text()
    local = tomllib.loads(text)["local_server"]["backends"]["origin"]["url"]
    assert text.count(f"url = {json.dumps(local)}") == 1
    return text.replace(f"url = {json.dumps(local)}", f"url = {json.dumps(backend)}")


def app(policy: dict | str | None, backend: str) -> str:
    """The fastly.toml of an app with this policy in its Config Store, in front of `backend`."""
    return fastly_edge.manifest(policy if policy is None or isinstance(policy, str) else json.dumps(policy), backend)


@pytest.fixture(scope="module")
def edge(built, upstream):
    url = f"http://127.0.0.1:{upstream.port}/"
    apps = {f"vector-{path.stem}": app(harness.load(path)["policy"], url) for path in FILES}
    apps["guard"] = app(harness.GUARD_POLICY, url)
    apps["bad"] = app(harness.BAD_POLICY, url)
    apps["not-json"] = app('{"origins": [', url)
    apps["unset"] = app(None, url)
    apps["warned"] = app(harness.WARNED_POLICY, url)
    apps["report-only"] = app(REPORT_ONLY_POLICY, url)
    apps["dead-backend"] = app(harness.GUARD_POLICY, f"http://127.0.0.1:{harness.free_port()}/")
    # The backend's first-byte timeout, as a Fastly service sets it (its default is 15 s).
    apps["timeout"] = app(harness.GUARD_POLICY, url).replace(
        "[local_server.backends.origin]\n", "[local_server.backends.origin]\nfirst_byte_timeout_ms = 500\n")
    apps["shipped"] = shipped(url)
    with fastly_edge.Viceroys(apps) as edge:
        yield edge


@pytest.fixture(scope="module")
def validation_answers(built, upstream) -> dict[int, tuple[int, bool, str]]:
    """Each validation case's policy in its own Viceroy, a few at a time (none needs to stay up):
    the status and reach of a GET, and what the app logged."""
    url = f"http://127.0.0.1:{upstream.port}/"
    answers = {}
    indices = list(range(len(VALIDATION)))
    for at in range(0, len(indices), fastly_edge.STARTING_AT_ONCE):
        batch = indices[at:at + fastly_edge.STARTING_AT_ONCE]
        with fastly_edge.Viceroys({str(i): app(harness.policy_text(VALIDATION[i]), url) for i in batch}) as edge:
            for i in batch:
                status, _, _, reached = request(edge, upstream, str(i), {"path": "/"})
                answers[i] = (status, reached, edge.log(str(i)))
    return answers


def request(edge, upstream, app: str, req: dict) -> tuple[int, list[tuple[str, str]], bytes, bool]:
    return proxy_duties.exchange(edge.ports[app], upstream, req)


values, preflight = proxy_duties.values, proxy_duties.preflight


# --- conformance vectors -------------------------------------------------------------------------

@pytest.mark.parametrize("path,case", [(path, case) for path in FILES for case in harness.load(path)["cases"]],
                         ids=[f"{path.stem}: {case['name']}" for path in FILES for case in harness.load(path)["cases"]])
def test_vector(edge, upstream, path, case):
    status, headers, body, reached = request(edge, upstream, f"vector-{path.stem}", case["request"])
    assert harness.check(case, status, headers, body, reached) == []


def test_the_path_and_host_are_forwarded_exactly_as_the_decision_read_them(edge, upstream):
    """Viceroy forwards the request-target and `Host` as they came, and the app decides on those
    bytes (the SDK's re-parsed URL is never read): the route-confusion vectors replayed above are
    then decisions on exactly what the backend gets."""
    for path in ["/public/../api/x", "/public/%2e%2e/api/x", "/public%2F..%2Fapi/x", "/public//x", "/API/x"]:
        status, _, _, reached = request(edge, upstream, "vector-routes", {"path": path, "headers": {
            "Origin": "https://evil.example"}})
        assert (status, reached, upstream.paths[-1]) == (200, True, path), path
    for host in ["admin.test.", "ADMIN.test", "admin.test:80"]:
        status, _, _, reached = request(edge, upstream, "vector-routes", {"host": host, "path": "/", "headers": {
            "Origin": "https://evil.example"}})
        assert (status, reached, upstream.hosts[-1]) == (200, True, host), host


# --- the proxy's own duties ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def guard(edge) -> int:
    return edge.ports["guard"]


@pytest.fixture(scope="module")
def guard_log(edge):
    return lambda: edge.log("guard")


@pytest.fixture(scope="module")
def routes(edge) -> int:
    return edge.ports["vector-route-confusion"]


class TestProxyDuties(proxy_duties.Suite):
    pass


def test_an_unreachable_backend_is_a_502_with_cors_headers_and_preflights_still_work(edge, upstream):
    proxy_duties.an_unreachable_upstream_is_a_502_with_cors_headers(
        edge.ports["dead-backend"], upstream, b"corsguard: the backend did not answer\n")
    assert "the origin backend did not answer" in edge.log("dead-backend")


def test_a_backend_slower_than_its_first_byte_timeout_is_a_502_with_cors_headers(edge, upstream):
    """Viceroy, like Fastly, gives up after the backend's first-byte timeout; it reports no cause
    (an internal error), so the app answers it as any backend failure: a 502 with CORS headers."""
    proxy_duties.a_slow_upstream_is_a_5xx_with_cors_headers(
        edge.ports["timeout"], upstream, 502, b"corsguard: the backend did not answer\n")
    assert "the origin backend did not answer" in edge.log("timeout")


def test_report_only_logs_and_changes_nothing(edge, upstream):
    status, headers, _, reached = request(edge, upstream, "report-only", preflight("https://report.example"))
    assert reached and values(headers, "access-control-allow-origin") == ["https://upstream.invalid"]
    assert values(headers, "corsguard-reason") == []
    lines = harness.denial_lines(edge.log("report-only"))
    assert any((line["kind"], line["reason"], line["mode"], line["origin"]) ==
               ("preflight", "origin-not-allowed", "report-only", "https://report.example") for line in lines), lines


def test_denial_lines_go_to_the_logging_endpoint_fastly_toml_declares(edge, upstream):
    """`emit fastly` declares the endpoint a deployment creates; the app writes to that one (Viceroy
    prints a line written to an endpoint as `NAME :: line`)."""
    request(edge, upstream, "report-only", preflight("https://endpoint.example"))
    manifest = tomllib.loads((harness.ROOT / "fastly/fastly.toml").read_text())
    [endpoint] = manifest["setup"]["log_endpoints"]
    lines = [line for line in edge.log("report-only").splitlines() if "https://endpoint.example" in line]
    assert lines and all(line.startswith(f"{endpoint} :: ") for line in lines), lines
    assert [json.loads(line.removeprefix(f"{endpoint} :: "))["origin"] for line in lines] == ["https://endpoint.example"]


# --- hostile input -------------------------------------------------------------------------------

@pytest.mark.parametrize("host", [b"a%zz.test", b"a b.test", b"a|b.test", b"[::1", b"", b"\xff.test", b"a.test, b.test"])
def test_a_host_no_url_parser_takes_never_traps_the_app(edge, upstream, host):
    """The SDK's URL parser panics on hosts like these; the app never calls it."""
    raw = b"GET /api HTTP/1.1\r\nHost: " + host + b"\r\nOrigin: " + ALLOWED.encode() + b"\r\nConnection: close\r\n\r\n"
    before = upstream.hits
    try:
        status, headers, _ = workers_edge.send_raw(edge.ports["vector-routes"], raw)
    except http.client.RemoteDisconnected:
        status, headers = 0, []  # Viceroy closed the connection: nothing ran
    if status not in (0, 400):  # else Viceroy's own HTTP server refused it before the app ran
        assert status == 200 and upstream.hits == before + 1
        assert values(headers, "access-control-allow-origin") in ([], [ALLOWED])
    proxy_duties.still_serving(edge.ports["guard"], upstream)
    assert "panicked" not in edge.log("vector-routes")


def test_nothing_trapped(edge, upstream):
    proxy_duties.still_serving(edge.ports["guard"], upstream)
    for app in edge.apps:
        log = edge.log(app)
        for sign in ["panicked", "wasm trap", "error while executing", "unreachable"]:
            assert sign not in log, (app, log[-4000:])


# --- broken and warned policies ------------------------------------------------------------------

@pytest.mark.parametrize("req", [preflight(), {"headers": {"Origin": ALLOWED}}, {"method": "POST"}, {"path": "/"}],
                         ids=["preflight", "GET with origin", "POST", "GET"])
def test_an_invalid_policy_refuses_everything_with_a_clear_500(edge, upstream, req):
    proxy_duties.an_invalid_policy_refuses_with_a_clear_500(
        edge.ports["bad"], upstream, req, "its policy is not valid; the problems are in the log")
    log = edge.log("bad")
    assert 'corsguard :: corsguard: corsguard.policy: error[trailing-slash]: origins[0]: "https://bad.example.com/" ' \
           'has a trailing slash' in log, log[-3000:]
    assert '"*" cannot be used with credentials: true' in log


def test_an_unreadable_or_missing_policy_refuses_everything(edge, upstream):
    for app, logged in [("not-json", "not valid JSON"), ("unset", 'the corsguard Config Store has no "policy" entry')]:
        for req in [preflight(), {"headers": {"Origin": ALLOWED}}]:
            status, _, body, reached = request(edge, upstream, app, req)
            assert (status, reached) == (500, False)
            assert "corsguard refuses every request" in body.decode()
        assert logged in edge.log(app)


def test_policy_problems_are_logged_once_per_instance(edge, upstream):
    """An instance serves many requests (Fastly's reusable sandboxes) and reads its policy once."""
    for _ in range(5):
        assert request(edge, upstream, "bad", preflight())[0] == 500
        assert request(edge, upstream, "warned", preflight(method="GET"))[0] == 204
    bad, warned = edge.log("bad"), edge.log("warned")
    refusals = bad.count("error[trailing-slash]: origins[0]")
    warnings = warned.count("corsguard: corsguard.policy: warning[listed-twice]: origins[1]:")
    assert 1 <= refusals < 5 and 1 <= warnings < 5, (refusals, warnings)


@pytest.mark.parametrize("index", range(len(VALIDATION)), ids=[c["name"] for c in VALIDATION])
def test_validation_vector(validation_answers, index):
    """Each validation case as the Config Store's policy: refused with a 500 and every error logged,
    or serving with every warning logged."""
    case = VALIDATION[index]
    status, reached, log = validation_answers[index]
    assert (status, reached) == ((500, False) if case["errors"] else (200, True))
    proxy_duties.every_problem_is_logged(case, log)


# --- fastly/fastly.toml --------------------------------------------------------------------------

def test_the_repository_fastly_toml_serves_its_policy(edge, upstream):
    """fastly/fastly.toml as a user runs it: the demo policy from its Config Store."""
    status, headers, _, reached = request(edge, upstream, "shipped", preflight("http://localhost:5173", "DELETE", **{
        "Access-Control-Request-Headers": "Authorization"}))
    assert (status, reached) == (204, False)
    assert values(headers, "access-control-allow-origin") == ["http://localhost:5173"]
    assert values(headers, "access-control-allow-credentials") == ["true"]
    assert values(headers, "access-control-max-age") == ["7200"]
    _, headers, _, _ = request(edge, upstream, "shipped", {"path": "/public/logo.png", "headers": {
        "Origin": "https://evil.example"}})
    assert values(headers, "access-control-allow-origin") == ["*"]
    # A disabled route: the upstream's answer, its own CORS headers and all.
    _, headers, _, _ = request(edge, upstream, "shipped", {"path": "/internal/x", "headers": {
        "Origin": "https://evil.example"}})
    assert values(headers, "access-control-allow-origin") == ["https://upstream.invalid"]
    _, headers, _, _ = request(edge, upstream, "shipped", {"path": "/api", "headers": {"Origin": "https://evil.example"}})
    assert values(headers, "access-control-allow-origin") == []
    assert values(headers, "corsguard-reason") == ["origin-not-allowed"]
