"""The answers Envoy and its neighbour filters make themselves carry the policy's CORS answer, with
either build of corsguard first in the chain (as `corsguard emit envoy` places it): a 429 from
`local_ratelimit`, a 403 from `rbac`, a 401 from `ext_authz` (a real authorization server on
127.0.0.1 says no), a 401 from `jwt_authn`, the router's 503 (the upstream's port is closed) and 504
(the upstream answers too late), and a `direct_response` route. Each keeps its status and body; an
allowed origin gets `Access-Control-Allow-Origin`, credentials, the exposed headers and `Vary`, a
refused one only `Vary`. A preflight is answered by corsguard before any of them: never rate
limited, never refused by authorization, never sent to the upstream.

Run: .tools/venv/bin/python -m pytest tests/e2e/test_envoy_replies.py -q   (CI=true: no Envoy fails)
"""

from __future__ import annotations

import http.server
import json
import threading
import time

import pytest

import envoy_edge
import harness
import proxy_duties

POLICY = json.loads((harness.ROOT / "examples" / "policy.json").read_text())
APP = "https://app.example.com"
EVIL = "https://evil.example"
UPSTREAM_TIMEOUT = "0.5s"  # the slow upstream answers after SLOW seconds
SLOW = 3.0


def typed(name: str, type_url: str, **config) -> dict:
    return {"name": name, "typed_config": {"@type": f"type.googleapis.com/{type_url}", **config}}


ALWAYS = {"default_value": {"numerator": 100, "denominator": "HUNDRED"}}
# One request per hour: the first GET passes, every later one is a 429.
RATE_LIMIT = typed("envoy.filters.http.local_ratelimit",
                   "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit", stat_prefix="rate_limit",
                   token_bucket={"max_tokens": 1, "tokens_per_fill": 1, "fill_interval": "3600s"},
                   filter_enabled={"runtime_key": "rate_limit_enabled", **ALWAYS},
                   filter_enforced={"runtime_key": "rate_limit_enforced", **ALWAYS})
RBAC = typed("envoy.filters.http.rbac", "envoy.extensions.filters.http.rbac.v3.RBAC",
             rules={"action": "DENY", "policies": {"everyone": {"permissions": [{"any": True}],
                                                                "principals": [{"any": True}]}}})
EXT_AUTHZ = typed("envoy.filters.http.ext_authz", "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
                  transport_api_version="V3",
                  http_service={"server_uri": {"uri": "http://127.0.0.1", "cluster": "authz", "timeout": "2s"}})
JWT = typed("envoy.filters.http.jwt_authn", "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            providers={"issuer": {"issuer": "https://issuer.test", "local_jwks": {
                "inline_string": json.dumps({"keys": [{"kty": "oct", "alg": "HS256", "k": "c2VjcmV0LWtleQ"}]})}}},
            rules=[{"match": {"prefix": "/"}, "requires": {"provider_name": "issuer"}}])


class Neighbours:
    """The authorization server (401 to every check) and the slow upstream, on free ports."""

    def __init__(self) -> None:
        class Deny(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self.send_response(401)
                self.send_header("Content-Length", "9")
                self.end_headers()
                self.wfile.write(b"no entry\n")

            do_POST = do_OPTIONS = do_PUT = do_GET

            def log_message(self, *args) -> None:
                pass

        class Slow(Deny):
            def do_GET(self) -> None:
                time.sleep(SLOW)
                super().do_GET()

        self.servers = [harness.QuietServer(("127.0.0.1", 0), handler) for handler in (Deny, Slow)]
        self.authz, self.slow = (server.server_address[1] for server in self.servers)

    def __enter__(self) -> "Neighbours":
        for server in self.servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


def to(cluster: str, **route) -> dict:
    return {"match": {"prefix": "/"}, "route": {"cluster": cluster, **route}}


@pytest.fixture(scope="module")
def edge(build, upstream):
    """One listener per neighbour, each with corsguard first: name -> port."""
    with Neighbours() as neighbours:
        closed = harness.free_port()  # nothing listens there
        listeners = {
            "rate-limit": ([RATE_LIMIT], None),
            "rbac": ([RBAC], None),
            "ext-authz": ([EXT_AUTHZ], None),
            "jwt": ([JWT], None),
            "refused": ([], to("closed")),
            "timeout": ([], to("slow", timeout=UPSTREAM_TIMEOUT)),
            "direct": ([], {"match": {"prefix": "/"}, "direct_response": {
                "status": 418, "body": {"inline_string": "teapot"}}}),
        }
        ports = dict(zip(listeners, harness.free_ports(len(listeners))))
        clusters = [envoy_edge.cluster("authz", neighbours.authz), envoy_edge.cluster("slow", neighbours.slow),
                    envoy_edge.cluster("closed", closed)]
        config = [envoy_edge.listener(name, ports[name], [build.filter(POLICY), *filters], route=route)
                  for name, (filters, route) in listeners.items()]
        with envoy_edge.Envoy(config, upstream.port, clusters=clusters):
            yield ports


def get(port: int, origin: str) -> tuple[int, list[tuple[str, str]], bytes]:
    return harness.send(port, {"path": "/api/items", "headers": {"Origin": origin}})


def assert_answer_carries_cors(port: int, status: int, body: bytes | None = None) -> None:
    """A GET from the allowed origin, then from a refused one: `status` (and `body`) kept, the
    policy's headers added."""
    got_status, headers, got_body = get(port, APP)
    assert got_status == status, (got_status, headers, got_body)
    if body is not None:
        assert got_body == body
    values = lambda name: proxy_duties.values(headers, name)  # noqa: E731
    assert values("access-control-allow-origin") == [APP], headers
    assert values("access-control-allow-credentials") == ["true"], headers
    assert [v.lower() for v in values("access-control-expose-headers")] == ["x-request-id"], headers
    assert "origin" in harness.tokens(values("vary")), headers
    got_status, headers, _ = get(port, EVIL)
    assert got_status == status
    assert proxy_duties.values(headers, "access-control-allow-origin") == [], headers
    assert "origin" in harness.tokens(proxy_duties.values(headers, "vary")), headers


def assert_preflight_is_answered_first(port: int, upstream: harness.Upstream) -> None:
    for _ in range(3):
        status, headers, _, reached = proxy_duties.exchange(port, upstream, proxy_duties.preflight(origin=APP))
        assert (status, reached) == (204, False), headers
        assert proxy_duties.values(headers, "access-control-allow-origin") == [APP]


def test_a_rate_limited_request_is_a_429_with_cors_headers_and_preflights_are_never_limited(edge, upstream):
    assert_preflight_is_answered_first(edge["rate-limit"], upstream)
    status, headers, _ = get(edge["rate-limit"], APP)  # the hour's one token
    assert status == 200, headers
    assert_answer_carries_cors(edge["rate-limit"], 429)
    assert_preflight_is_answered_first(edge["rate-limit"], upstream)


def test_an_rbac_refusal_is_a_403_with_cors_headers(edge, upstream):
    assert_preflight_is_answered_first(edge["rbac"], upstream)
    assert_answer_carries_cors(edge["rbac"], 403, b"RBAC: access denied")


def test_an_ext_authz_refusal_is_the_authorization_servers_401_with_cors_headers(edge, upstream):
    assert_preflight_is_answered_first(edge["ext-authz"], upstream)
    assert_answer_carries_cors(edge["ext-authz"], 401, b"no entry\n")


def test_a_missing_jwt_is_a_401_with_cors_headers(edge, upstream):
    assert_preflight_is_answered_first(edge["jwt"], upstream)
    assert_answer_carries_cors(edge["jwt"], 401, b"Jwt is missing")


def test_a_closed_upstream_is_the_routers_503_with_cors_headers(edge, upstream):
    assert_preflight_is_answered_first(edge["refused"], upstream)
    assert_answer_carries_cors(edge["refused"], 503)


def test_an_upstream_too_slow_is_the_routers_504_with_cors_headers(edge, upstream):
    assert_answer_carries_cors(edge["timeout"], 504, b"upstream request timeout")


def test_a_direct_response_route_carries_cors_headers(edge, upstream):
    assert_preflight_is_answered_first(edge["direct"], upstream)
    assert_answer_carries_cors(edge["direct"], 418, b"teapot")
