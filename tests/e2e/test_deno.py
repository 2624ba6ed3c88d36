"""The npm package under real Deno, installed from its tarball: the examples of examples/ (Deno
Deploy, Netlify Edge Functions, Supabase Edge Functions) type-checked and served, every conformance
vector over HTTP through the Deno Deploy example in front of the harness's upstream, the proxy's
own duties, hostile input, a WebSocket upgrade, and refused policies."""

from __future__ import annotations

import http.client
import json

import pytest

import deno_edge
import harness
import proxy_duties

ALLOWED = harness.ALLOWED
FILES = harness.vector_files()
VALIDATION = harness.validation_cases()
DEPLOY = ("deno-deploy", "main.ts")

values, preflight = proxy_duties.values, proxy_duties.preflight


@pytest.fixture(scope="module")
def project():
    harness.require(deno_edge.missing(), "scripts/setup.sh node workers")
    with deno_edge.Project() as project:
        yield project


@pytest.fixture(scope="module")
def edge(project, upstream):
    url = f"http://127.0.0.1:{upstream.port}"
    apps = {f"vector-{path.stem}": deno_edge.App(*DEPLOY, harness.load(path)["policy"], url) for path in FILES}
    apps["guard"] = deno_edge.App(*DEPLOY, harness.GUARD_POLICY, url)
    apps["dead-upstream"] = deno_edge.App(*DEPLOY, harness.GUARD_POLICY, f"http://127.0.0.1:{harness.free_port()}")
    apps["timeout"] = deno_edge.App(*DEPLOY, harness.GUARD_POLICY, url, timeout="0.5")
    apps["throws"] = deno_edge.App(*DEPLOY[:1], "throws.ts", harness.GUARD_POLICY)
    apps["netlify"] = deno_edge.App("netlify", "netlify_site.ts", harness.GUARD_POLICY, url)
    apps["supabase"] = deno_edge.App("supabase", "supabase/functions/api/index.ts", harness.GUARD_POLICY, serve=False)
    apps["socket"] = deno_edge.App(*DEPLOY[:1], "socket.ts", harness.GUARD_POLICY)
    with deno_edge.Denos(project, apps) as edge:
        yield edge


def request(edge, upstream, app: str, req: dict) -> tuple[int, list[tuple[str, str]], bytes, bool]:
    return proxy_duties.exchange(edge.ports[app], upstream, req)


# --- the examples and the types ------------------------------------------------------------------

@pytest.mark.parametrize("example,entry", [DEPLOY, ("netlify", "netlify/edge-functions/cors.ts"),
                                           ("supabase", "supabase/functions/api/index.ts")])
def test_the_example_type_checks(project, tmp_path, example, entry):
    root = project.app(example, (harness.ROOT / "examples" / "policy.json").read_text(), tmp_path / example)
    done = project.deno("check", entry, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_package_types_describe_its_whole_api(project, tmp_path):
    """npm/test/types.ts uses every export as typed; its `@ts-expect-error` lines fail the check
    if a type is loose enough to accept what it must refuse."""
    root = project.app(DEPLOY[0], "{}", tmp_path / "types")
    (root / "types.ts").write_text((harness.ROOT / "npm" / "test" / "types.ts").read_text())
    done = project.deno("check", "types.ts", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = (root / "types.ts").read_text().replace("// @ts-expect-error", "// (expected an error here)", 1)
    (root / "types.ts").write_text(broken)
    assert project.deno("check", "types.ts", cwd=root).returncode != 0


def test_the_package_loads_its_engine_as_deno_loads_modules(project, tmp_path):
    """Through the package's `deno` entry: the `.wasm` imported as a module source, no read permission."""
    root = project.app(DEPLOY[0], "{}", tmp_path / "entry")
    (root / "entry.ts").write_text(
        "import { Policy } from 'corsguard';\n"
        "const policy = Policy.parse('{\"origins\": [\"https://app.example.com\"]}');\n"
        "console.log(import.meta.resolve('corsguard'), policy.evaluate({ method: 'GET', host: 'a', path: '/', "
        "headers: { origin: 'https://app.example.com' } }).action.type);\n")
    done = project.deno("run", "--cached-only", "entry.ts", cwd=root)
    assert done.returncode == 0, done.stderr
    resolved, action = done.stdout.split()
    assert resolved.endswith("/node_modules/corsguard/deno.js") and action == "forward", done.stdout


# --- conformance vectors -------------------------------------------------------------------------

@pytest.mark.parametrize("path,case", [(path, case) for path in FILES for case in harness.load(path)["cases"]],
                         ids=[f"{path.stem}: {case['name']}" for path in FILES for case in harness.load(path)["cases"]])
def test_vector(edge, upstream, path, case):
    status, headers, body, reached = request(edge, upstream, f"vector-{path.stem}", case["request"])
    assert harness.check(case, status, headers, body, reached) == []


def test_the_decision_reads_the_url_that_is_forwarded(edge, upstream):
    """Deno hands the handler a URL the WHATWG parser normalized; the example decides on it and
    forwards exactly its path, so the upstream never gets a spelling the decision did not read."""
    for sent, forwarded in [("/public/../api/x", "/api/x"), ("/public/%2e%2e/api/x", "/api/x"),
                            ("/public//x", "/public//x"), ("/API/x", "/API/x")]:
        status, headers, _, reached = request(edge, upstream, "vector-routes", {"path": sent, "headers": {
            "Origin": "https://evil.example"}})
        assert (status, reached, upstream.paths[-1]) == (200, True, forwarded), sent
    # The one spelling Deno's fetch changes: it sends a leading `//` as `/`. The engine refuses
    # every path starting with `//` (the route-confusion vectors), so no answer to one allows anything.
    status, headers, _, reached = request(edge, upstream, "vector-routes", {"path": "//other.test/admin/x",
                                                                             "headers": {"Origin": ALLOWED}})
    assert (status, reached) == (200, True)
    assert (upstream.paths[-1], upstream.hosts[-1]) == ("/other.test/admin/x", f"127.0.0.1:{upstream.port}")
    assert values(headers, "access-control-allow-origin") == values(headers, "access-control-allow-credentials") == []


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


def test_an_unreachable_upstream_is_a_502_with_cors_headers_and_preflights_still_work(edge, upstream):
    proxy_duties.an_unreachable_upstream_is_a_502_with_cors_headers(
        edge.ports["dead-upstream"], upstream, b"corsguard: the upstream did not answer\n")


def test_an_upstream_slower_than_upstream_timeout_is_a_504_with_cors_headers(edge, upstream):
    proxy_duties.a_slow_upstream_is_a_5xx_with_cors_headers(
        edge.ports["timeout"], upstream, 504, b"corsguard: the upstream did not answer in time\n")


def test_a_handler_that_throws_is_a_500_with_cors_headers_and_its_error_only_logged(edge, upstream):
    for origin, allowed in [(ALLOWED, [ALLOWED]), ("https://evil.example", [])]:
        status, headers, body, _ = request(edge, upstream, "throws", {"headers": {"Origin": origin}})
        assert (status, body) == (500, b"corsguard: the handler failed\n")
        assert values(headers, "access-control-allow-origin") == allowed
        assert values(headers, "vary") == ["Origin"]
    assert "the handler threw: Error: secret upstream detail" in edge.log("throws")


def test_nothing_crashed(edge, upstream):
    proxy_duties.still_serving(edge.ports["guard"], upstream)
    for app in edge.apps:
        log = edge.log(app)
        assert "error: Uncaught" not in log and "panicked" not in log, (app, log[-4000:])


def test_a_websocket_upgrade_passes_through_unchanged(edge):
    """withCors hands a 101 on as the handler made it: the socket opens and echoes."""
    lines = proxy_duties.a_websocket_echoes_through(edge.ports["socket"])
    assert not any(line.lower().startswith("access-control-") for line in lines), lines


# --- the other examples --------------------------------------------------------------------------

def test_netlify_edge_function_guards_its_paths_and_leaves_the_others(edge, upstream):
    status, headers, _, reached = request(edge, upstream, "netlify", {**preflight(), "path": "/api/items"})
    assert (status, reached) == (204, False)
    assert values(headers, "access-control-allow-origin") == [ALLOWED]
    _, headers, body, reached = request(edge, upstream, "netlify", {"path": "/api/items", "headers": {"Origin": ALLOWED}})
    assert (body, reached) == (harness.UPSTREAM_BODY, True)
    assert values(headers, "access-control-allow-origin") == [ALLOWED]
    assert harness.tokens(values(headers, "vary")) == ["accept-encoding", "origin"]
    # Outside `config.path` the function does not run: the site's own answer.
    _, headers, _, reached = request(edge, upstream, "netlify", {"path": "/about", "headers": {"Origin": ALLOWED}})
    assert reached and values(headers, "access-control-allow-origin") == ["https://upstream.invalid"]


def test_supabase_function_gets_the_policys_headers(edge, upstream):
    status, headers, body, _ = request(edge, upstream, "supabase", preflight())
    assert (status, body) == (204, b"")
    assert values(headers, "access-control-allow-methods") == ["PUT"]
    conn = http.client.HTTPConnection("127.0.0.1", edge.ports["supabase"], timeout=10)
    try:
        conn.request("POST", "/api", body=b'{"name": "corsguard"}', headers={"Origin": ALLOWED,
                                                                            "Content-Type": "application/json"})
        response = conn.getresponse()
        assert (response.status, json.loads(response.read())) == (200, {"message": "Hello corsguard!"})
        assert response.getheader("access-control-allow-origin") == ALLOWED
        assert response.getheader("vary") == "Origin"
    finally:
        conn.close()
    _, headers, _, _ = request(edge, upstream, "supabase", {"headers": {"Origin": "https://evil.example"}})
    assert values(headers, "access-control-allow-origin") == []


# --- refused policies ----------------------------------------------------------------------------

def test_a_refused_policy_stops_the_example_with_every_problem(project, tmp_path):
    root = project.app(DEPLOY[0], json.dumps(harness.BAD_POLICY), tmp_path / "bad")
    done = project.deno("serve", "--host", "127.0.0.1", "--port", str(harness.free_port()), "--allow-net=127.0.0.1",
                        "--allow-env=UPSTREAM", "--cached-only", DEPLOY[1], cwd=root, timeout=60)
    assert done.returncode != 0
    assert "PolicyError: corsguard: the policy was refused:" in done.stderr
    assert 'error[trailing-slash]: origins[0]: "https://bad.example.com/" has a trailing slash' in done.stderr
    assert '"*" cannot be used with credentials: true' in done.stderr


DUPLICATES = [case for case in VALIDATION if any(error["code"] == "duplicate-key" for error in case["errors"])]
EXAMPLES = [(*DEPLOY, True), ("netlify", "netlify_site.ts", True), ("supabase", "supabase/functions/api/index.ts", False)]


@pytest.mark.parametrize("example,entry,serve", EXAMPLES, ids=[example for example, *_ in EXAMPLES])
def test_every_example_refuses_a_policy_with_a_key_given_twice(project, tmp_path, example, entry, serve):
    """Each example reads policy.json as text, so the engine sees both keys and refuses the file
    (a JSON import would have kept the last key, and served it)."""
    assert len(DUPLICATES) >= 3
    allow = ["--allow-net=127.0.0.1", "--allow-env=UPSTREAM,PORT", "--cached-only"]
    for index, case in enumerate(DUPLICATES):
        root = project.app(example, harness.policy_text(case), tmp_path / f"{index}")
        if serve:
            argv = ["serve", "--host", "127.0.0.1", "--port", str(harness.free_port()), *allow, entry]
        else:
            argv = ["run", *allow, "--preload", "supabase_listen.ts", entry]
        done = project.deno(*argv, cwd=root, timeout=60)
        assert done.returncode != 0, (case["name"], done.stdout)
        assert "PolicyError: corsguard: the policy was refused:" in done.stderr, (case["name"], done.stderr[-2000:])
        assert f"error[duplicate-key]: {case['errors'][0]['path']}: " in done.stderr, (case["name"], done.stderr[-2000:])


def test_policy_parse_refuses_an_object_under_deno(project, tmp_path):
    root = project.app(DEPLOY[0], "{}", tmp_path / "object")
    (root / "object.ts").write_text(
        "import { Policy } from 'corsguard';\n"
        "try { Policy.parse(JSON.parse('{\"origins\": [\"https://a.example\"]}')); } catch (error) {\n"
        "  console.log(error.name, error.message);\n}\n")
    done = project.deno("run", "--cached-only", "object.ts", cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("TypeError corsguard: Policy.parse takes the policy file's text (a string)"), done.stdout


def test_every_validation_vector_under_deno(project, tmp_path):
    root = project.app(DEPLOY[0], "{}", tmp_path / "validation")
    lines = "".join(json.dumps(harness.policy_text(case)) + "\n" for case in VALIDATION)
    done = project.deno("run", "--cached-only", "validation.ts", cwd=root, input=lines)
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) == len(VALIDATION)
    for case, result in zip(VALIDATION, results):
        assert result["loaded"] == (not case["errors"]), case["name"]
        log = result.get("message", "") + "\n" + "\n".join(
            f"{p['severity']}[{p['code']}]: " + (f"{p['path']}: " if p["path"] else "") + p["message"]
            for p in result["problems"])
        proxy_duties.every_problem_is_logged(case, log)

