"""Which request methods each edge's own HTTP server carries to corsguard, in the real every_edge:
real Envoy (with the settings envoy/envoy.yaml ships), real workerd, real Viceroy, Node's HTTP
server, the wasi:http component in `jco serve` and in `wasmtime serve`, and the npm package under
Deno. For every method of a long list, a request from an allowed origin either reaches the upstream
with corsguard's headers, or `corsguard check` warned that this edge refuses it
(`cli/src/edge_methods.rs` is the table; this suite is what keeps it true)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import tempfile

import component_edge
import deno_edge
import envoy_edge
import fastly_edge
import harness
import workers_edge

CLI = harness.ROOT / "target" / "release" / "corsguard"
NODE = harness.ROOT / "node_modules" / ".bin" / "node"
ALLOWED = harness.ALLOWED
# Methods a policy may list (CONNECT, TRACE and TRACK it may not): the ones some server knows, and
# some none does.
METHODS = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "PURGE", "OPTIONS", "COPY", "LOCK", "MKCOL", "MOVE",
    "PROPFIND", "PROPPATCH", "SEARCH", "UNLOCK", "ACL", "REPORT", "MKACTIVITY", "CHECKOUT", "MERGE", "MSEARCH",
    "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "QUERY", "BAN", "BIND", "REBIND", "UNBIND", "LINK", "UNLINK",
    "MKCALENDAR", "SOURCE", "NEW", "SUPER", "X_Y", "patch", "Propfind",
]
POLICY = {"origins": [ALLOWED], "methods": METHODS, "debug": True}
# Which server a warning of `corsguard check` names (servers that carry every method have none).
SERVERS = {"envoy": "Envoy 1.40", "workerd": "workerd", "node": "Node's HTTP server", "jco": "jco serve"}
# A Node HTTP server that answers 200 to whatever reaches it, and prints its port.
NODE_SERVER = """
const server = require('node:http').createServer((req, res) => res.end(req.method));
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.stdin.on('end', () => process.exit(0)).resume();
"""


def refused_by_check() -> dict[str, set[str]]:
    """For each server, the methods `corsguard check` warns it refuses."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as policy:
        json.dump(POLICY, policy)
        policy.flush()
        done = subprocess.run([str(CLI), "check", policy.name, "--format", "json"], capture_output=True, text=True,
                              timeout=60)
    report = json.loads(done.stdout)
    assert report["valid"], report
    refused = {server: set() for server in SERVERS}
    for problem in report["problems"]:
        if problem["code"] == "edge-refuses-method":
            method = METHODS[int(problem["path"].removeprefix("methods[").removesuffix("]"))]
            named = [server for server, words in SERVERS.items() if problem["message"].startswith(words)]
            assert len(named) == 1, problem
            refused[named[0]].add(method)
    return refused


def reaching(port: int, upstream: harness.Upstream | None, renamed: dict[str, str] | None = None) -> set[str]:
    """The methods for which a request from the allowed origin gets through (to the upstream, with
    corsguard's Access-Control-Allow-Origin, when there is one); `renamed` collects those that
    reached the upstream spelled otherwise."""
    through = set()
    for method in METHODS:
        if method == "OPTIONS":
            continue  # without Access-Control-Request-Method: an actual request like the others
        before = upstream.hits if upstream else 0
        status, headers, _ = harness.send(port, {"method": method, "path": "/x", "headers": {"Origin": ALLOWED}})
        allow = [v for n, v in headers if n.lower() == "access-control-allow-origin"]
        if upstream is None:
            if status == 200:
                through.add(method)
        elif upstream.hits > before and (upstream.methods[-1] == method or renamed is not None):
            assert (status, allow) == (200, [ALLOWED]), (method, status, headers)
            through.add(method)
            if upstream.methods[-1] != method:
                renamed[method] = upstream.methods[-1]
        else:
            assert status in (0, 400, 405, 501) and not allow, (method, status, headers)
    return through


def test_every_edge_carries_exactly_what_check_says(every_edge):
    refused = refused_by_check()
    listed = {m for m in METHODS if m != "OPTIONS"}
    with harness.Upstream() as upstream:
        port = harness.free_port()
        listener = envoy_edge.listener("methods", port, [envoy_edge.wasm_filter(POLICY, every_edge)])
        listener["filter_chains"][0]["filters"][0]["typed_config"].update(
            envoy_edge.NORMALIZED | envoy_edge.CUSTOM_METHODS)
        worker = dict(workers_edge.corsguard(), bindings={"UPSTREAM": f"http://127.0.0.1:{upstream.port}",
                                                          "CORS_POLICY": json.dumps(POLICY)})
        compute = fastly_edge.manifest(json.dumps(POLICY), f"http://127.0.0.1:{upstream.port}/")
        node = subprocess.Popen([str(NODE), "-e", NODE_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True)
        work = tempfile.TemporaryDirectory(prefix="corsguard-methods-")
        wasm = component_edge.build(POLICY, f"http://127.0.0.1:{upstream.port}", pathlib.Path(work.name) / "http.wasm")
        deploy = deno_edge.App("deno-deploy", "main.ts", POLICY, f"http://127.0.0.1:{upstream.port}")
        renamed: dict[str, str] = {}
        try:
            node_port = int(node.stdout.readline())
            with envoy_edge.Envoy([listener], upstream.port), workers_edge.Workerd({"w": worker}) as workerd, \
                    fastly_edge.Viceroys({"f": compute}) as viceroy, \
                    component_edge.Hosts({"jco": ("jco", wasm), "wasmtime": ("wasmtime", wasm)}) as hosts, \
                    deno_edge.Project() as project, deno_edge.Denos(project, {"d": deploy}) as deno:
                carried = {
                    "envoy": reaching(port, upstream),
                    "workerd": reaching(workerd.ports["w"], upstream),
                    "viceroy": reaching(viceroy.ports["f"], upstream),
                    "node": reaching(node_port, None),
                    "jco": reaching(hosts.ports["jco"], upstream, renamed),
                    "wasmtime": reaching(hosts.ports["wasmtime"], upstream, renamed),
                    "deno": reaching(deno.ports["d"], upstream, renamed),
                }
        finally:
            node.stdin.close()
            node.wait(10)
            work.cleanup()
    table = {server: sorted(listed - carried[server]) for server in carried}
    print("\nrefused before corsguard: " + json.dumps(table))
    for server in carried:
        want = refused.get(server, set()) - {"OPTIONS"}
        assert listed - carried[server] == want, (server, table[server], sorted(want))
    # Every method the component hosts and Deno take reaches corsguard, and the upstream, as it was sent.
    assert renamed == {}, renamed
    # What the issue saw: PURGE works everywhere; NEW works on Envoy (as shipped) and Fastly only.
    assert "PURGE" in carried["workerd"] & carried["envoy"] & carried["viceroy"] & carried["node"]
    assert "NEW" in carried["envoy"] & carried["viceroy"] and "NEW" not in carried["workerd"] | carried["node"]
