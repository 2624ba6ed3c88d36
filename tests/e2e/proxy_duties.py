"""What every edge that forwards (a Worker, a Compute app, a Deno app) must do, as checks that each
suite runs against its own edge (`port` serves `harness.GUARD_POLICY` in front of `upstream`), and
as a test class (`Suite`) that runs them all."""

from __future__ import annotations

import base64
import http.client
import os
import socket
import time

import pytest

import harness
import workers_edge

ALLOWED = harness.ALLOWED


def exchange(port: int, upstream: harness.Upstream, req: dict) -> tuple[int, list[tuple[str, str]], bytes, bool]:
    """Status, headers, body, and whether the request reached the upstream."""
    before = upstream.hits
    status, headers, body = harness.send(port, req)
    return status, headers, body, upstream.hits > before


def values(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [v for n, v in headers if n.lower() == name]


def preflight(origin: str = ALLOWED, method: str = "PUT", **headers: str) -> dict:
    return {"method": "OPTIONS", "path": "/api",
            "headers": {"Origin": origin, "Access-Control-Request-Method": method, **headers}}


def upstream_cors_headers_are_replaced_and_vary_merged(port: int, upstream: harness.Upstream) -> None:
    status, headers, body, reached = exchange(port, upstream, {"path": "/api", "headers": {"Origin": ALLOWED}})
    assert (status, body, reached) == (200, harness.UPSTREAM_BODY, True)
    assert values(headers, "access-control-allow-origin") == [ALLOWED]
    assert values(headers, "access-control-allow-credentials") == ["true"]
    assert [v.lower() for v in values(headers, "access-control-expose-headers")] == ["x-request-id"]
    assert harness.tokens(values(headers, "vary")) == ["accept-encoding", "origin"]
    assert values(headers, "x-upstream") == ["1"]


def repeated_upstream_lines_are_all_replaced(port: int, upstream: harness.Upstream) -> None:
    _, headers, _, _ = exchange(port, upstream, {"path": "/repeated/", "headers": {"Origin": ALLOWED}})
    assert values(headers, "access-control-allow-origin") == [ALLOWED]
    assert values(headers, "access-control-max-age") == []
    assert harness.tokens(values(headers, "vary")) == ["accept-encoding", "cookie", "origin"]


def a_refused_origin_gets_none_of_the_upstreams_cors_headers(port: int, upstream: harness.Upstream) -> None:
    status, headers, body, reached = exchange(port, upstream, {"path": "/api", "headers": {
        "Origin": "https://evil.example"}})
    assert (status, body, reached) == (200, harness.UPSTREAM_BODY, True)
    for name in harness.OWNED[:-1]:
        assert values(headers, name) == [], name
    assert values(headers, "corsguard-reason") == ["origin-not-allowed"]
    assert harness.tokens(values(headers, "vary")) == ["accept-encoding", "origin"]


def the_upstream_status_passes_through(port: int, upstream: harness.Upstream, status: int) -> None:
    got, headers, body, reached = exchange(port, upstream, {"path": f"/status/{status}", "headers": {
        "Origin": ALLOWED}})
    assert (got, reached) == (status, True)
    assert body == (b"" if status in (204, 304) else harness.UPSTREAM_BODY)
    assert values(headers, "access-control-allow-origin") == [ALLOWED]


def the_body_streams_before_the_upstream_has_finished(port: int, upstream: harness.Upstream) -> None:
    upstream.release.clear()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=8)
    try:
        conn.request("GET", "/stream/", headers={"Host": "api.test", "Origin": ALLOWED})
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("access-control-allow-origin") == ALLOWED
        # The upstream holds its tail back: a buffering edge would not answer before it times out.
        assert response.read(len(harness.STREAM_HEAD)) == harness.STREAM_HEAD
        upstream.release.set()
        assert response.read() == harness.STREAM_TAIL
    finally:
        upstream.release.set()
        conn.close()


def still_serving(port: int, upstream: harness.Upstream) -> None:
    """The edge answers an ordinary preflight and an ordinary GET correctly."""
    status, headers, _, reached = exchange(port, upstream, preflight(**{"Access-Control-Request-Headers": "x-a"}))
    assert (status, reached) == (204, False)
    assert values(headers, "access-control-allow-origin") == [ALLOWED]
    assert values(headers, "access-control-allow-headers") == ["x-a"]
    status, headers, body, reached = exchange(port, upstream, {"headers": {"Origin": ALLOWED}})
    assert (status, body, reached) == (200, harness.UPSTREAM_BODY, True)
    assert values(headers, "access-control-allow-origin") == [ALLOWED]


def hostile_input_is_refused_and_the_edge_keeps_serving(port: int, upstream: harness.Upstream, raw: bytes,
                                                        outcome: str, detail: str | None) -> None:
    """One case of `harness.HOSTILE`."""
    before = upstream.hits
    status, headers, _ = workers_edge.send_raw(port, raw)
    reached = upstream.hits > before
    names = [n.lower() for n, _ in headers]
    assert "x-injected" not in names
    assert all("\r" not in v and "\n" not in v and "\0" not in v for _, v in headers)
    preflight_sent = raw.startswith(b"OPTIONS")
    if outcome == "allowed":
        assert (status, reached) == (204, False)
        assert values(headers, "access-control-allow-origin") == [ALLOWED]
        assert values(headers, "access-control-allow-methods") == ["PUT"]
        assert values(headers, "access-control-allow-headers") == ([detail] if detail else [])
    elif outcome == "rejected" and status in (400, 413, 431):
        assert not reached  # the runtime refused the bytes before corsguard ran
        assert "access-control-allow-origin" not in names
    else:
        assert status == (403 if preflight_sent else 200)
        assert reached == (not preflight_sent)
        for name in harness.OWNED[:-1]:
            assert name not in names, name
        if detail is not None:
            assert values(headers, "corsguard-reason") == [detail]
    still_serving(port, upstream)


def each_denial_is_one_json_line(port: int, upstream: harness.Upstream, log) -> None:
    """A refused preflight and a malformed origin (one byte 0xe9) through `port`, under
    `harness.GUARD_POLICY`: each is one line of the core's JSON in `log()` (the edge's log), the same
    on every edge. The host's request id, where it has one, is left out of the comparison."""
    exchange(port, upstream, preflight("https://logged.example"))
    exchange(port, upstream, {"path": "/x", "headers": {"Origin": "https://evil.example\u00e9"}})
    line = {"corsguard": "denial", "mode": "enforce", "route": ""}
    # The byte is shown as the host handed it over: \u00e9, or U+FFFD's bytes where the runtime
    # replaced it (workerd's Headers).
    want = [{**line, "kind": "preflight", "reason": "origin-not-allowed", "origin": "https://logged.example"},
            {**line, "kind": "actual", "reason": "malformed-request", "origin": "https://evil.example"}]
    deadline = time.monotonic() + 5  # hosts flush their logs on their own time
    while True:
        lines = [{k: v for k, v in found.items() if k != "request_id"} for found in harness.denial_lines(log())]
        for found in lines:
            if found["origin"].startswith("https://evil.example") and found["origin"] != "https://evil.example":
                found["origin"] = "https://evil.example"
        if all(w in lines for w in want) or time.monotonic() > deadline:
            assert [w for w in want if w not in lines] == [], lines[-10:]
            return
        time.sleep(0.1)


def a_slow_upstream_is_a_5xx_with_cors_headers(port: int, upstream: harness.Upstream, status: int,
                                               says: bytes) -> None:
    """`port` gives up on an upstream that answers later than its timeout: `status` (its body
    `says`, quoting nothing of the policy or the upstream) with the decision's headers, so the page
    sees the timeout, not a CORS error."""
    status_got, headers, body, _ = exchange(port, upstream, {"path": "/slow/x", "headers": {"Origin": ALLOWED}})
    assert (status_got, body) == (status, says)
    assert values(headers, "access-control-allow-origin") == [ALLOWED]
    assert "Origin" in values(headers, "vary")
    status_got, headers, _, _ = exchange(port, upstream, {"path": "/slow/x", "headers": {"Origin": "https://evil.example"}})
    assert status_got == status and values(headers, "access-control-allow-origin") == []


def an_answer_too_large_to_relay_still_carries_cors_headers(port: int, upstream: harness.Upstream) -> int:
    """An upstream answer with more headers than the edge's HTTP client takes: relayed whole, or a
    502 of the edge's own that quotes none of it; either way with the decision's headers. Returns
    the status."""
    for origin, allowed in [(ALLOWED, [ALLOWED]), ("https://evil.example", [])]:
        status, headers, body, _ = exchange(port, upstream, {"path": "/large-head/", "headers": {"Origin": origin}})
        assert status in (200, 502), status
        assert values(headers, "access-control-allow-origin") == allowed
        fillers = [name for name, _ in headers if name.lower().startswith("x-filler-")]
        assert (status, len(fillers)) in ((200, harness.LARGE_HEAD), (502, 0)), (status, len(fillers))
        assert b"filler" not in body.lower()
    return status


def a_websocket_echoes_through(port: int) -> list[str]:
    """Opens a WebSocket through `port` (the upstream behind it echoes), sends one frame and checks
    that it comes back; returns the lines of the 101's head."""
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall((f"GET /socket HTTP/1.1\r\nHost: api.test\r\nOrigin: {ALLOWED}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += conn.recv(4096)
        head, rest = head.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        assert lines[0].startswith("HTTP/1.1 101"), lines
        mask, payload = os.urandom(4), b"ping"
        conn.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        frame = rest
        while len(frame) < 2 + len(payload):
            frame += conn.recv(4096)
        assert frame[:2 + len(payload)] == bytes([0x81, len(payload)]) + payload
    return lines


def an_unreachable_upstream_is_a_502_with_cors_headers(port: int, upstream: harness.Upstream, says: bytes) -> None:
    """`port` forwards to an upstream that is not there: a 502 (its body `says`) with the
    decision's headers, so the page sees a 502, not a misleading CORS error; preflights still work."""
    status, headers, body, _ = exchange(port, upstream, {"headers": {"Origin": ALLOWED}})
    assert (status, body) == (502, says)
    assert values(headers, "access-control-allow-origin") == [ALLOWED]
    assert values(headers, "vary") == ["Origin"]
    status, headers, _, _ = exchange(port, upstream, {"headers": {"Origin": "https://evil.example"}})
    assert status == 502 and values(headers, "access-control-allow-origin") == []
    status, headers, _, _ = exchange(port, upstream, preflight())
    assert status == 204 and values(headers, "access-control-allow-origin") == [ALLOWED]


def an_absolute_form_target_is_answered_for_the_host_it_forwards(port: int, upstream: harness.Upstream) -> None:
    """`port` serves the route-confusion vectors' policy (the admin.test route allows only app; the
    top level also allows other, with credentials). With an absolute-form request-target, RFC 9112
    section 3.2.2 says the target's host counts, not `Host`, and edges differ: Envoy decides on the
    target's and forwards it as `Host`, Viceroy decides on and forwards `Host`'s, and Deno (the
    target's) and workerd (`Host`'s) send their upstream's own host. No common vector can say which
    answer is right; what must hold on every edge is that the answer is the route of the host the
    upstream is told, so a spelling never gets a route the upstream does not serve."""
    other = "https://other.example.com"
    for target, host in [("http://admin.test/x", "api.test"), ("http://api.test/x", "admin.test")]:
        status, headers, _, reached = exchange(port, upstream, {"path": target, "host": host, "headers": {"Origin": other}})
        allowed = values(headers, "access-control-allow-origin")
        if not reached:  # the edge's own HTTP server refused the spelling
            assert harness.edge_refused(status, {n.lower(): [] for n, _ in headers}, reached) and allowed == []
            continue
        forwarded = upstream.hosts[-1]
        assert (upstream.paths[-1], status) == ("/x", 200), (target, upstream.paths[-1:], status)
        if forwarded == f"127.0.0.1:{upstream.port}":
            continue  # a Worker sends its upstream's own host: neither name reaches the upstream
        assert forwarded in ("admin.test", "api.test"), (target, host, forwarded)
        assert allowed == ([] if forwarded == "admin.test" else [other]), (target, host, forwarded, headers)


def every_problem_is_logged(case: dict, log: str) -> None:
    """Each error and warning of a validation case appears in the edge's log, as `check` writes it."""
    for severity, key in [("error", "errors"), ("warning", "warnings")]:
        for problem in case[key]:
            at = f"{severity}[{problem['code']}]: " + (f"{problem['path']}: " if problem["path"] else "")
            assert any(at in line and problem["contains"] in line for line in log.splitlines()), (problem, log[-3000:])


def an_invalid_policy_refuses_with_a_clear_500(port: int, upstream: harness.Upstream, req: dict, says: str) -> None:
    """`port` has `harness.BAD_POLICY`: a 500 saying `says`, never forwarded, no CORS headers, and
    nothing of the policy (its problems describe it: they go to the log, never to a client)."""
    status, headers, body, reached = exchange(port, upstream, req)
    assert (status, reached) == (500, False)
    text = body.decode()
    assert says in text
    assert "example.com" not in text and "credentials" not in text
    assert not any(name.lower().startswith("access-control-") for name, _ in headers)


class Suite:
    """The duties above as tests, for a suite to run against its own edge: subclass it as
    `TestProxyDuties` in a module with an `upstream` fixture, a `guard` fixture (the port that
    serves `harness.GUARD_POLICY` in front of that upstream), a `guard_log` fixture (a function that
    reads the log of that edge) and a `routes` fixture (the port that serves the route-confusion
    vectors' policy)."""

    def test_an_absolute_form_target_is_answered_for_the_host_it_forwards(self, routes, upstream):
        an_absolute_form_target_is_answered_for_the_host_it_forwards(routes, upstream)

    def test_upstream_cors_headers_are_replaced_and_vary_merged(self, guard, upstream):
        upstream_cors_headers_are_replaced_and_vary_merged(guard, upstream)

    def test_repeated_upstream_lines_are_all_replaced(self, guard, upstream):
        repeated_upstream_lines_are_all_replaced(guard, upstream)

    def test_an_answer_too_large_to_relay_still_carries_cors_headers(self, guard, upstream):
        an_answer_too_large_to_relay_still_carries_cors_headers(guard, upstream)

    def test_every_set_cookie_line_reaches_the_client(self, guard, upstream):
        _, headers, _, _ = exchange(guard, upstream, {"path": "/cookies/", "headers": {"Origin": ALLOWED}})
        assert values(headers, "set-cookie") == harness.COOKIES
        assert values(headers, "access-control-allow-origin") == [ALLOWED]

    def test_a_refused_origin_gets_none_of_the_upstreams_cors_headers(self, guard, upstream):
        a_refused_origin_gets_none_of_the_upstreams_cors_headers(guard, upstream)

    @pytest.mark.parametrize("status", [201, 204, 301, 302, 304, 307, 404, 500, 503])
    def test_the_upstream_status_passes_through_and_redirects_are_not_followed(self, guard, upstream, status):
        the_upstream_status_passes_through(guard, upstream, status)

    def test_bodies_stream_both_ways_intact(self, guard, upstream):
        sent = harness.LARGE_CHUNK * 16  # 1 MiB up, and back from /echo/
        conn = http.client.HTTPConnection("127.0.0.1", guard, timeout=20)
        try:
            conn.request("POST", "/echo/", body=sent, headers={"Host": "api.test", "Origin": ALLOWED})
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, sent)
            assert response.getheader("access-control-allow-origin") == ALLOWED
        finally:
            conn.close()
        status, _, body, reached = exchange(guard, upstream, {"path": "/large/", "headers": {"Origin": ALLOWED}})
        assert (status, reached) == (200, True)
        assert harness.large_body_ok(body)

    def test_the_body_streams_before_the_upstream_has_finished(self, guard, upstream):
        the_body_streams_before_the_upstream_has_finished(guard, upstream)

    def test_each_denial_is_one_json_line(self, guard, upstream, guard_log):
        each_denial_is_one_json_line(guard, upstream, guard_log)

    def test_preflights_never_reach_the_upstream(self, guard, upstream):
        for req in [preflight(), preflight("https://evil.example"), preflight(method="PATCH")]:
            status, _, body, reached = exchange(guard, upstream, req)
            assert (status in (204, 403), body, reached) == (True, b"", False)

    @pytest.mark.parametrize("raw,outcome,detail", [h[1:] for h in harness.HOSTILE],
                             ids=[h[0] for h in harness.HOSTILE])
    def test_hostile_input_is_refused_and_the_edge_keeps_serving(self, guard, upstream, raw, outcome, detail):
        hostile_input_is_refused_and_the_edge_keeps_serving(guard, upstream, raw, outcome, detail)
