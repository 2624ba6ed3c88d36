"""What the Workers and Fastly benchmarks share: the policy and the requests they time, and one
run of wrk (scripts/setup.sh bench installs it)."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

POLICY = {
    "origins": ["https://app.example.com", "https://*.example.com", "http://localhost:*"],
    "methods": ["GET", "POST", "PUT", "DELETE"],
    "request_headers": ["Content-Type", "Authorization"],
    "expose_headers": ["X-Request-Id"],
    "credentials": True,
    "max_age": 7200,
}
ORIGIN = "https://app.example.com"
SCENARIOS = {
    "preflight": ("OPTIONS", {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT",
                              "Access-Control-Request-Headers": "content-type"}),
    "GET with Origin": ("GET", {"Origin": ORIGIN}),
}


def script(directory: pathlib.Path, method: str, headers: dict) -> pathlib.Path:
    """A wrk Lua script sending `method` with `headers`."""
    path = directory / f"bench-{method}.lua"
    lines = [f'wrk.method = "{method}"'] + [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run(url: str, lua: pathlib.Path, duration: int, connections: int, prefix: list[str]) -> tuple[float, float, float, int]:
    """One wrk run: requests/s, p50 and p99 latency (ms), and the number of requests. Any error or
    non-2xx answer ends the benchmark."""
    done = subprocess.run([*prefix, "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(lua),
                           url], capture_output=True, text=True, timeout=duration + 60)
    text = done.stdout
    if done.returncode != 0 or "Non-2xx" in text or "Socket errors" in text:
        sys.exit(f"wrk run failed or saw errors on {url}:\n{text}\n{done.stderr}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
    return rps, p50, p99, int(re.search(r"(\d+) requests in", text).group(1))
