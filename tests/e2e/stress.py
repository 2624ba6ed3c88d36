"""Hostile requests by the hundred thousand through an edge on 127.0.0.1, for stress runs, and the
same requests through Envoy under valgrind's memcheck (scripts/stress-envoy.sh,
tests/e2e/test_envoy_module.py).

The shapes: every decision vector's request, `harness.HOSTILE` (oversized, malformed and doubled
headers), the route-confusion paths, absolute-form targets, and a few heads HTTP forbids. They are
sent on kept-alive connections, one at a time on each; where the edge closes a connection (its own
400 for a head it cannot parse), the client opens another and goes on."""

from __future__ import annotations

import collections
import pathlib
import random
import socket
import threading
import xml.etree.ElementTree as ElementTree

import envoy_edge
import harness

# Connections sending at once, each one request at a time (Envoy answers a pipelined request
# after a local reply by closing the connection, which would leave the rest unsent).
CLIENTS = 4
TIMEOUT = 30.0


def raw(method: str, target: str, host: str, lines: list[tuple[str, str]]) -> bytes:
    head = [f"{method} {target} HTTP/1.1".encode(), b"Host: " + host.encode("latin-1")]
    head += [f"{name}: {value}".encode("latin-1") for name, value in lines]
    return b"\r\n".join(head) + b"\r\n\r\n"


def shapes() -> list[bytes]:
    """Every request shape, each once, kept-alive (no `Connection: close`)."""
    out = []
    for _, _, case in harness.cases():
        request = case["request"]
        try:
            out.append(raw(request.get("method", "GET"), request.get("path", "/"), request.get("host", "api.test"),
                           harness.header_lines(request)))
        except UnicodeEncodeError:
            continue  # a vector's non-Latin-1 text: harness.HOSTILE has such bytes raw
    for _, head, _, _ in harness.HOSTILE:
        out.append(head.replace(b"Connection: close\r\n", b""))
    origin = [("Origin", "https://app.example.com")]
    for target in ["http://api.test/admin/x", "http://admin.test:8443/x", "https://evil.example/api/items",
                   "http://api.test", "*", "//api.test/x", "/a" * 4000, "/%2e%2e/%2E%2e/admin/x", "/x\\..\\admin",
                   "/admin%2fx", "/\uff0fadmin", "/admin./x", "/admin%3F/../api", "/%C0%AF"]:
        out.append(raw("GET", target, "api.test", origin))
        out.append(raw("OPTIONS", target, "api.test", origin + [("Access-Control-Request-Method", "PUT")]))
    out.append(b"GET / HTTP/1.1\r\nHost: api.test\r\nOrigin: " + b"a" * 70_000 + b"\r\n\r\n")  # past Envoy's limit
    out.append(b"GET / HTTP/1.1\r\nHost: api.test\r\n" + b"X-A: b\r\n" * 150 + b"\r\n")  # past the header count
    out.append(b"GET\x00/ HTTP/1.1\r\nHost: api.test\r\n\r\n")
    out.append(b"GET / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
    # Paths as the route fuzzer makes them, escaped where HTTP/1.1 allows no raw byte.
    rng = random.Random(29)  # the same paths every run
    pieces = ["/", ".", "..", ";", "\\", "a", "A", "admin", "api", "%2F", "%2e", "%5C", "%3B", "%3F", "%23", "%20",
              "%25", "%00", "%C0%AF", "%EF%BC%8F", "%EF%BC%8E", "%zz", "?", "//"]
    for _ in range(64):
        path = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 24)))
        out.append(raw(rng.choice(["GET", "OPTIONS"]), "/" + path, "api.test",
                       origin + [("Access-Control-Request-Method", "PUT")]))
    return out


class Answers:
    """Reads answers from one connection: status, and whether the edge keeps the connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.file = sock.makefile("rb")

    def next(self, head: bool = False) -> tuple[int, bool]:
        """The next answer (`head`: to a HEAD request, which has no body whatever it says)."""
        line = self.file.readline(65536)
        if not line:
            return 0, False
        status = int(line.split(b" ", 2)[1])
        length, close, chunked = 0, False, False
        while (line := self.file.readline(65536)) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value == b"close"
            elif name == b"transfer-encoding":
                chunked = value == b"chunked"
        if head:
            pass
        elif chunked:
            while (size := int(self.file.readline(65536).split(b";")[0], 16)) > 0:
                self.file.read(size + 2)
            self.file.readline(65536)
        else:
            self.file.read(length)
        return status, not close


def blast(port: int, requests: int, every: int = 0, each=None) -> collections.Counter:
    """Sends `requests` requests cycling through `shapes()`, each connection of `CLIENTS` sending one
    request at a time and opening another where the edge closes it; returns how many answers of
    each status came back (0: a request the edge closed the connection on without answering).
    `each(answered)` is called every `every` answers (an RSS sample), from one client at a time."""
    statuses: collections.Counter = collections.Counter()
    shapes_ = shapes()
    lock = threading.Lock()
    sent = answered = 0

    def client() -> None:
        nonlocal sent, answered
        sock = None
        while True:
            with lock:
                if sent >= requests:
                    break
                shape = shapes_[sent % len(shapes_)]
                sent += 1
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
                answers = Answers(sock)
            try:
                sock.sendall(shape)
                status, kept = answers.next(head=shape.startswith(b"HEAD "))
            except (BrokenPipeError, ConnectionResetError, ValueError):
                status, kept = 0, False
            if not kept:
                sock.close()
                sock = None
            with lock:
                statuses[status] += 1
                answered += status != 0
                sample = each and every and status and answered % every == 0
                if sample:
                    each(answered)
        if sock is not None:
            sock.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def findings_in(xml_path, library: str) -> list[str]:
    """The errors and definite leaks in a valgrind memcheck XML report whose stack passes through
    `library` (the filter's own code), each as its kind and top frame."""
    root = ElementTree.parse(xml_path).getroot()
    out = []
    for error in root.iter("error"):
        kind = error.findtext("kind") or "?"
        if kind.startswith("Leak_") and kind != "Leak_DefinitelyLost":
            continue
        frames = error.findall("./stack/frame")
        if any(library in (frame.findtext("obj") or "") for frame in frames):
            top = next((f.findtext("fn") for f in frames if library in (f.findtext("obj") or "")), "?")
            out.append(f"{kind} in {top}: {error.findtext('./what') or error.findtext('./xwhat/text')}")
    return out


# Memcheck with Envoy's own allocator replaced (its tcmalloc is linked in statically), so that the
# module's heap is checked too.
MEMCHECK = ["valgrind", "--tool=memcheck", "--soname-synonyms=somalloc=NONE", "--leak-check=full",
            "--errors-for-leak-kinds=definite", "--num-callers=40", "--xml=yes"]


def listeners(edge_filter: dict) -> tuple[list[dict], int, int]:
    """An edge listener with `edge_filter`, without Envoy's path normalization (every spelling reaches
    the filter), in front of a `direct_response` listener of the same Envoy: the listeners, the
    upstream's port and the edge's."""
    upstream, edge = harness.free_ports(2)
    route = {"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": {"inline_string": "upstream"}}}
    ls = [envoy_edge.listener("upstream", upstream, [], route=route), envoy_edge.listener("edge", edge, [edge_filter])]
    ls[1]["filter_chains"][0]["filters"][0]["typed_config"].update(
        {"max_request_headers_kb": 96, **envoy_edge.CUSTOM_METHODS})
    return ls, upstream, edge


def under_memcheck(edge_filter: dict, requests: int, library: str, xml: pathlib.Path
                   ) -> tuple[collections.Counter, list[str], str | None]:
    """`requests` hostile requests through `edge_filter` in Envoy under memcheck, then a clean stop
    (so that leaks are checked): the answers by status, memcheck's findings in `library`, and
    Envoy's log if it died."""
    ls, upstream, edge = listeners(edge_filter)
    envoy = envoy_edge.Envoy(ls, upstream, wasm_log_level="info", prefix=[*MEMCHECK, f"--xml-file={xml}"],
                             start_timeout=600)
    with envoy:
        statuses = blast(edge, requests)
        died = None if envoy.process.poll() is None else envoy.log()[-3000:]
        envoy.process.terminate()
        envoy.process.wait(timeout=600)
    return statuses, findings_in(xml, library), died
