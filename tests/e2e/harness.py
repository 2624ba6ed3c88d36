"""What every end-to-end suite shares: the test upstream, the conformance vectors, and the check
of a real response against a vector's expectation (tests/vectors/README.md says what it means)."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import pathlib
import re
import socket
import sys
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"

OWNED = [
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-allow-private-network",
    "access-control-expose-headers",
    "access-control-max-age",
    "corsguard-reason",
]

# The upstream's answer to every forwarded request, as every runner's upstream gives it.
_UPSTREAM = json.loads((ROOT / "tests" / "vectors" / "upstream.json").read_text())
UPSTREAM_HEADERS = [(name, value) for name, value in _UPSTREAM["headers"]]
UPSTREAM_BODY = _UPSTREAM["body"].encode()
# /repeated/ adds these: a second line of headers the upstream already sent, and one it did not.
REPEATED_HEADERS = [
    ("Access-Control-Allow-Origin", "https://other.invalid"),
    ("Access-Control-Max-Age", "1"),
    ("Access-Control-Max-Age", "2"),
    ("Vary", "Cookie"),
]

# /cookies/ adds these Set-Cookie lines, which must reach the client as separate lines.
COOKIES = ["a=1; Path=/", "b=2; Path=/; HttpOnly"]
# /echo/ answers with the request's body.

# /large/ streams this many bytes of a repeating pattern, to prove bodies pass through intact.
LARGE_BODY_SIZE = 8 * 1024 * 1024
LARGE_CHUNK = bytes(range(256)) * 256

# /stream/ sends its head, then holds its tail back until the suite sets `Upstream.release`.
STREAM_HEAD = b"head-" * 2048
STREAM_TAIL = b"tail"
STREAM_WAIT = 20.0
# /slow/ answers after this many seconds: longer than the upstream timeout an edge is given in a test.
SLOW_ANSWER = 3.0
# /large-head/ sends this many headers more: beyond what some HTTP clients take from an upstream
# (hyper's and Envoy's default is 100).
LARGE_HEAD = 150
# The suites' own client must take what an edge relays of it (http.client stops at 100 headers).
http.client._MAXHEADERS = 4 * LARGE_HEAD

REQUIRED = os.environ.get("CI") == "true"


def require(absent: list[str], setup: str) -> None:
    """Skips the calling fixture's tests when something in `absent` is missing, or fails them
    under CI=true (where a missing runtime is a failure); `setup` says how to install it."""
    if not absent:
        return
    message = f"not installed: {', '.join(map(str, absent))}: run {setup}"
    if REQUIRED:
        pytest.fail(message + " (CI=true: a missing runtime is a failure)")
    pytest.skip(message)


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports, none handed out before in this run: the kernel may offer a
    port again once its probe socket is closed, and a server started later would then clash."""
    held: list[socket.socket] = []
    chosen: list[int] = []
    try:
        while len(chosen) < count:
            s = socket.socket()
            held.append(s)  # held until all are chosen, so the kernel offers another each time
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            if port not in _HANDED_OUT:
                _HANDED_OUT.add(port)
                chosen.append(port)
        return chosen
    finally:
        for s in held:
            s.close()


class QuietServer(http.server.ThreadingHTTPServer):
    """A threading HTTP server that says nothing when a client hangs up mid-request (edges close
    idle keep-alive connections as they stop)."""

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Upstream:
    """The upstream every runner uses: 200, `upstream`, and CORS headers of its own to replace.

    `/status/NNN` answers with that status; `/slow/` answers after SLOW_ANSWER seconds;
    `/large-head/` adds LARGE_HEAD headers `X-Filler-N`;
    `/cookies/` adds two `Set-Cookie` lines; `/echo/`
    answers with the request's body; `/large/` streams LARGE_BODY_SIZE bytes; `/stream/`
    sends STREAM_HEAD, then waits until `release` is set (at most STREAM_WAIT seconds) to send
    STREAM_TAIL, so a suite can prove an edge passes the head on before the body is complete;
    `hits` counts every request that reached it, so a suite can prove preflights never do, and
    `paths` and `hosts` hold the request-target and `Host` of each, as they arrived, and `methods`
    the method (every method is answered alike)."""

    def __init__(self) -> None:
        self.hits = 0
        self.paths: list[str] = []
        self.hosts: list[str | None] = []
        self.methods: list[str] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one(self) -> None:
                with upstream.lock:
                    upstream.hits += 1
                    upstream.paths.append(self.path)
                    upstream.hosts.append(self.headers.get("Host"))
                    upstream.methods.append(self.command)
                received = self.body()
                if self.path.startswith("/slow/"):
                    time.sleep(SLOW_ANSWER)
                status = 200
                if self.path.startswith("/status/"):
                    status = int(self.path.split("/")[2])
                self.send_response(status)
                for name, value in UPSTREAM_HEADERS:
                    self.send_header(name, value)
                if self.path.startswith("/repeated/"):
                    for name, value in REPEATED_HEADERS:
                        self.send_header(name, value)
                if self.path.startswith("/large-head/"):
                    for n in range(LARGE_HEAD):
                        self.send_header(f"X-Filler-{n}", "filler")
                if self.path.startswith("/cookies/"):
                    for cookie in COOKIES:
                        self.send_header("Set-Cookie", cookie)
                if self.path.startswith("/echo/"):
                    self.send_header("Content-Length", str(len(received)))
                    self.end_headers()
                    self.wfile.write(received)
                    return
                if self.path.startswith("/large/"):
                    self.send_header("Content-Length", str(LARGE_BODY_SIZE))
                    self.end_headers()
                    sent = 0
                    while sent < LARGE_BODY_SIZE:
                        chunk = LARGE_CHUNK[: LARGE_BODY_SIZE - sent]
                        self.wfile.write(chunk)
                        sent += len(chunk)
                    return
                if self.path.startswith("/stream/"):
                    self.send_header("Content-Length", str(len(STREAM_HEAD) + len(STREAM_TAIL)))
                    self.end_headers()
                    self.wfile.write(STREAM_HEAD)
                    self.wfile.flush()
                    upstream.release.wait(STREAM_WAIT)
                    self.wfile.write(STREAM_TAIL)
                    return
                if status in (204, 304):
                    # No body, ever: bytes after these would desync a kept-alive connection.
                    self.end_headers()
                    return
                self.send_header("Content-Length", str(len(UPSTREAM_BODY)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(UPSTREAM_BODY)

            def body(self) -> bytes:
                """The request's body, sent with a length or chunked."""
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = handle_one

            def __getattr__(self, name: str):
                if name.startswith("do_"):  # any other method (PURGE, NEW, lowercase patch): the same
                    return self.handle_one
                raise AttributeError(name)

            def log_message(self, *args) -> None:
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Upstream":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def large_body_ok(body: bytes) -> bool:
    if len(body) != LARGE_BODY_SIZE:
        return False
    pattern = LARGE_CHUNK * (LARGE_BODY_SIZE // len(LARGE_CHUNK) + 1)
    return body == pattern[:LARGE_BODY_SIZE]


def vector_files() -> list[pathlib.Path]:
    return sorted((VECTORS / "decisions").glob("*.json"))


def validation_cases() -> list[dict]:
    """The cases of validation.json."""
    return json.loads((VECTORS / "validation.json").read_text())


def policy_text(case: dict) -> str:
    """A validation case's policy file: its raw `text`, or its `policy` as JSON."""
    return case["text"] if "text" in case else json.dumps(case["policy"])


def load(path: pathlib.Path) -> dict:
    return json.loads(path.read_text())


def cases() -> list[tuple[str, dict, dict]]:
    """Every (id, policy, case) of every decision vector file."""
    out = []
    for path in vector_files():
        data = load(path)
        for case in data["cases"]:
            out.append((f"{path.stem}: {case['name']}", data["policy"], case))
    return out


def header_lines(request: dict) -> list[tuple[str, str]]:
    """A vector request's header lines in order: `headers` is an object or a list of [name, value]."""
    headers = request.get("headers", {})
    return [tuple(line) for line in headers] if isinstance(headers, list) else list(headers.items())


def send(port: int, request: dict, timeout: float = 10.0) -> tuple[int, list[tuple[str, str]], bytes]:
    """Sends a vector's request to an edge on 127.0.0.1:port, its request-target and header lines
    exactly as written; returns status, headers, body. Status 0: the edge closed the connection
    without answering (Viceroy's refusal of a request-target or host it cannot parse)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(request.get("method", "GET"), request.get("path", "/"), skip_host=True,
                        skip_accept_encoding=True)
        conn.putheader("Host", request.get("host", "api.test"))
        for name, value in header_lines(request):
            conn.putheader(name, value)
        conn.endheaders()
        try:
            response = conn.getresponse()
        except http.client.RemoteDisconnected:
            return 0, [], b""
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


DENIAL_LINE = re.compile(r'\{"corsguard":"denial".*\}')


def denial_lines(log: str) -> list[dict]:
    """Every denial line an edge logged (the core's `Decision::denial_line`, the same JSON on every
    edge, whatever the host puts before it), parsed."""
    return [json.loads(match.group(0)) for match in DENIAL_LINE.finditer(log)]


def edge_refused(status: int, got: dict[str, list[str]], reached_upstream: bool) -> bool:
    """The edge's own HTTP server refused the request before corsguard: a 4xx, a redirect to the
    normalized path, or no answer at all (status 0), that never reached the upstream and allows
    nothing."""
    allows = any(name.startswith("access-control-allow-") for name in got)
    refused = 400 <= status < 500 or status in (0, 301, 307, 308)
    return refused and not reached_upstream and not allows


def tokens(values: list[str]) -> list[str]:
    return [t.strip().lower() for v in values for t in v.split(",") if t.strip()]


def check(case: dict, status: int, headers: list[tuple[str, str]], body: bytes,
          reached_upstream: bool) -> list[str]:
    """Every way the response differs from the case's expectation (empty when it matches).

    The denial is observable only through `Corsguard-Reason` (policies with `debug: true`), which
    is compared with the other owned headers."""
    expect = case["expect"]
    action = expect["action"]
    got: dict[str, list[str]] = {}
    for name, value in headers:
        got.setdefault(name.lower(), []).append(value.strip())
    if expect.get("edge_may_refuse") and edge_refused(status, got, reached_upstream):
        return []
    wanted = {k.lower(): v for k, v in expect.get("headers", {}).items()}
    problems = []

    def owned_exactly(names: list[str]) -> None:
        for name in names:
            if name in wanted and got.get(name) != [wanted[name]]:
                problems.append(f"{name}: want {wanted[name]!r}, got {got.get(name)}")
            elif name not in wanted and name in got:
                problems.append(f"{name}: want none, got {got[name]}")

    if action == "respond":
        if reached_upstream:
            problems.append("the request reached the upstream; it must be answered at the edge")
        if status != expect["status"]:
            problems.append(f"status: want {expect['status']}, got {status}")
        owned_exactly(OWNED + ["vary"])
    elif action == "forward":
        if not reached_upstream:
            problems.append("the request never reached the upstream")
        if status != 200 or body != UPSTREAM_BODY and case["request"].get("method") != "HEAD":
            problems.append(f"upstream answer altered: status {status}, body {body[:40]!r}")
        owned_exactly(OWNED)
        want_vary = sorted(set(tokens(["Accept-Encoding"] + expect.get("vary", []))))
        vary = tokens(got.get("vary", []))
        if sorted(vary) != want_vary:
            problems.append(f"vary: want tokens {want_vary}, got {got.get('vary')}")
    elif action == "pass":
        if not reached_upstream:
            problems.append("the request never reached the upstream")
        for name, value in UPSTREAM_HEADERS:
            if got.get(name.lower()) != [value]:
                problems.append(f"{name}: the upstream's {value!r} must pass untouched, got {got.get(name.lower())}")
        for name in OWNED:
            if name not in [n.lower() for n, _ in UPSTREAM_HEADERS] and name in got:
                problems.append(f"{name}: added on a pass-through: {got[name]}")
    else:
        problems.append(f"unknown action {action!r}")
    return problems


# --- what every proxy suite sends: its policies and hostile requests --------------------------------

ALLOWED = "https://app.example.com"

# The policy of the proxy and hostile-input cases.
GUARD_POLICY = {
    "origins": [ALLOWED],
    "methods": ["PUT"],
    "request_headers": ["X-A", "X-B", "Content-Type"],
    "expose_headers": ["X-Request-Id"],
    "credentials": True,
    "debug": True,
}
# Two errors, each to be named in the 500.
BAD_POLICY = {"origins": ["https://bad.example.com/", "*"], "credentials": True}
# Valid, with a warning to be logged once per isolate or instance.
WARNED_POLICY = {"origins": [ALLOWED, ALLOWED]}


def head(*lines: bytes, method: bytes = b"OPTIONS") -> bytes:
    return b"\r\n".join([method + b" /api HTTP/1.1", b"Host: api.test", *lines, b"Connection: close", b"", b""])


ACRM = b"Access-Control-Request-Method: PUT"
MANY_ALLOWED = ", ".join(["x-a", "X-B", "content-type"] * 334)
MANY_UNKNOWN = ", ".join(f"x-h{i}" for i in range(1000))

# The hostile requests every edge's suite sends, to a policy allowing ALLOWED with method PUT
# and headers X-A, X-B and Content-Type, with debug on.
# (id, request head, outcome, detail). "allowed": a preflight answered 204 (detail: the expected
# Access-Control-Allow-Headers, or None for none); "refused": a preflight refused by corsguard (403)
# or a request forwarded without CORS headers (detail: the Corsguard-Reason); "rejected": either
# that, or the runtime's own 400/413/431 for bytes HTTP does not allow, before corsguard ran.
HOSTILE = [
    ("non-UTF-8 origin, preflight", head(b"Origin: https://\xff\xfe.example.com", ACRM), "refused", "malformed-request"),
    ("non-UTF-8 origin, GET", head(b"Origin: https://\xff\xfe.example.com", method=b"GET"), "refused",
     "malformed-request"),
    ("non-UTF-8 request headers", head(b"Origin: " + ALLOWED.encode(), ACRM,
                                       b"Access-Control-Request-Headers: x-\xe9t\xe9"), "refused", "malformed-request"),
    ("60 KiB of request headers", head(b"Origin: " + ALLOWED.encode(), ACRM,
                                      b"Access-Control-Request-Headers: " + b"x" * 61440), "refused",
     "header-not-allowed: " + "x" * 64 + "..."),  # the reason shows a long name cut short
    ("1000 allowed request headers", head(b"Origin: " + ALLOWED.encode(), ACRM,
                                          b"Access-Control-Request-Headers: " + MANY_ALLOWED.encode()), "allowed",
     MANY_ALLOWED.replace(", ", ",")),  # echoed in Fetch's form
    ("1000 unknown request headers", head(b"Origin: " + ALLOWED.encode(), ACRM,
                                          b"Access-Control-Request-Headers: " + MANY_UNKNOWN.encode()), "refused",
     "header-not-allowed: x-h0"),
    ("two Origin headers, preflight", head(b"Origin: " + ALLOWED.encode(), b"Origin: " + ALLOWED.encode(), ACRM),
     "refused", "malformed-request"),
    ("two Origin headers, GET", head(b"Origin: " + ALLOWED.encode(), b"Origin: https://evil.example", method=b"GET"),
     "refused", "malformed-request"),
    ("encoded CR LF in the origin", head(b"Origin: https://app.example.com%0d%0aX-Injected:%201", ACRM), "refused",
     "malformed-request"),
    ("bare CR in the origin", head(b"Origin: https://app.example.com\rX-Injected: 1", ACRM), "rejected", None),
    # The runtimes end the line at the bare LF: an ordinary preflight, plus a header nobody echoes.
    ("bare LF in the method", head(b"Origin: " + ALLOWED.encode(), b"Access-Control-Request-Method: PUT\nX-Injected: 1"),
     "allowed", None),
    ("folded origin line", head(b"Origin: https://app.example.com", b" X-Injected: 1", ACRM), "rejected", None),
    ("NUL in the origin", head(b"Origin: https://app.example.com\x00", ACRM), "rejected", None),
    ("uppercase scheme", head(b"Origin: HTTPS://APP.EXAMPLE.COM", ACRM), "refused", "malformed-request"),
    ("uppercase host", head(b"Origin: https://APP.example.com", method=b"GET"), "refused", "malformed-request"),
    ("null origin, preflight", head(b"Origin: null", ACRM), "refused", "origin-not-allowed"),
    ("null origin, GET", head(b"Origin: null", method=b"GET"), "refused", "origin-not-allowed"),
    ("lowercase method asked", head(b"Origin: " + ALLOWED.encode(), b"Access-Control-Request-Method: put"), "refused",
     "method-not-allowed"),
]
