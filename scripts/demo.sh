#!/usr/bin/env bash
# The Envoy demo: corsguard (envoy/envoy.yaml, with the demo policy examples/policy.json) in front
# of a small demo upstream, all on 127.0.0.1. Prints what to curl, then runs until Ctrl-C.
#
# Usage: scripts/demo.sh [--native] [--check]
#   --native  the dynamic module (envoy/envoy-module.yaml) instead of the .wasm (envoy/envoy.yaml)
#   --check   run the printed curls, check the answers, stop (exit 1 on a mismatch)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
check=false
native=false
for arg in "$@"; do
  case "$arg" in
    --check) check=true ;;
    --native) native=true ;;
    *) echo "usage: $0 [--native] [--check]" >&2; exit 2 ;;
  esac
done

scripts/setup.sh rust python
if $native; then
  envoy-module/build.sh >/dev/null
  config=envoy/envoy-module.yaml
  export ENVOY_DYNAMIC_MODULES_SEARCH_PATH="$root/target/envoy"
else
  proxy-wasm/build.sh >/dev/null
  config=envoy/envoy.yaml
fi
py="$root/.tools/venv/bin/python"
envoy=$("$py" -c 'import envoy, pathlib; print(pathlib.Path(envoy.__file__).parent / "_bin" / "envoy")')

work=$(mktemp -d "${TMPDIR:-/tmp}/corsguard-demo.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Three distinct free ports, all held while they are chosen.
read -r edge_port admin_port upstream_port < <("$py" -c '
import socket
held = [socket.socket() for _ in range(3)]
for s in held: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in held))')

# The demo upstream: a tiny JSON API that also sets a CORS header of its own, which corsguard replaces.
"$py" - "$upstream_port" >"$work/upstream.log" 2>&1 <<'PY' &
import http.server, json, sys
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self):
        body = json.dumps({"hello": "from the upstream", "path": self.path}).encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Request-Id", "demo-1")
        self.send_header("Access-Control-Allow-Origin", "*")  # the upstream's own answer: replaced at the edge
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = answer
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
PY
pids+=($!)

# The configuration as shipped, with free ports and the absolute path of the built filter.
sed -e "s/port_value: 10000/port_value: $edge_port/" \
    -e "s/port_value: 9901/port_value: $admin_port/" \
    -e "s/port_value: 8080/port_value: $upstream_port/" \
    -e "s|filename: target/envoy/corsguard.wasm|filename: $root/target/envoy/corsguard.wasm|" \
    "$config" >"$work/envoy.yaml"
"$envoy" -c "$work/envoy.yaml" --use-dynamic-base-id --concurrency 1 --log-path "$work/envoy.log" \
  --file-flush-interval-msec 100 --component-log-level wasm:debug,dynamic_modules:debug 2>>"$work/envoy.log" &
pids+=($!)

for _ in $(seq 1 300); do
  [ "$(curl -s --max-time 1 "http://127.0.0.1:$admin_port/ready" || true)" = "LIVE" ] && break
  if ! kill -0 "${pids[1]}" 2>/dev/null; then echo "Envoy exited:" >&2; tail -20 "$work/envoy.log" >&2; exit 1; fi
  sleep 0.1
done
[ "$(curl -s --max-time 1 "http://127.0.0.1:$admin_port/ready" || true)" = "LIVE" ] || { echo "Envoy not ready" >&2; exit 1; }

e="http://127.0.0.1:$edge_port"
allowed=(curl -si -X OPTIONS "$e/api/items" -H "Origin: https://app.example.com" -H "Access-Control-Request-Method: PUT" -H "Access-Control-Request-Headers: content-type")
denied=(curl -si -X OPTIONS "$e/api/items" -H "Origin: https://evil.example" -H "Access-Control-Request-Method: PUT")
get=(curl -si "$e/api/items" -H "Origin: https://app.example.com")
stats=(curl -s "http://127.0.0.1:$admin_port/stats/prometheus?filter=corsguard")
shown() { # the command as one would type it
  local out="" arg
  for arg in "$@"; do
    if [[ $arg =~ [[:space:]?*] ]]; then out+="'$arg' "; else out+="$arg "; fi
  done
  printf '%s' "${out% }"
}

cat <<EOF
corsguard on Envoy: edge http://127.0.0.1:$edge_port -> demo upstream http://127.0.0.1:$upstream_port
policy: examples/policy.json (inline in $config); Envoy log: $work/envoy.log

  # a preflight, allowed (204, answered by Envoy, never reaches the upstream)
  $(shown "${allowed[@]}")
  # a preflight, denied (403, no Access-Control-Allow-*; corsguard-reason says why: the policy has "debug": true)
  $(shown "${denied[@]}")
  # an actual GET: the upstream's answer with corsguard's CORS headers (the upstream's "*" replaced)
  $(shown "${get[@]}")
  # the counters
  $(shown "${stats[@]}")
EOF

if ! $check; then
  echo
  echo "Ctrl-C to stop."
  wait "${pids[1]}"
  exit $?
fi

fail=0
expect() { # what output pattern
  if grep -qiE "$3" <<<"$2"; then echo "ok: $1"; else echo "FAILED: $1 (no match for: $3)"; echo "$2"; fail=1; fi
}
out=$("${allowed[@]}" --max-time 5)
expect "allowed preflight" "$out" $'^HTTP/1.1 204'
expect "allowed preflight origin" "$out" $'^access-control-allow-origin: https://app.example.com\r?$'
out=$("${denied[@]}" --max-time 5)
expect "denied preflight" "$out" $'^HTTP/1.1 403'
expect "denied preflight reason" "$out" $'^corsguard-reason: origin-not-allowed\r?$'
out=$("${get[@]}" --max-time 5)
expect "GET" "$out" $'^HTTP/1.1 200'
expect "GET origin (the upstream's * replaced)" "$out" $'^access-control-allow-origin: https://app.example.com\r?$'
expect "GET body" "$out" '"hello": "from the upstream"'
sleep 0.5 # the .wasm hands its counts to Envoy every 250 ms
out=$("${stats[@]}" --max-time 5)
# Both builds count decisions as one labelled counter (the module's name has Envoy's prefix).
expect "counters" "$out" '^(envoy_)?corsguard_requests_total\{kind="preflight",outcome="denied",reason="origin_not_allowed",mode="enforce",route=""\} 1$'
if [ "$fail" = 0 ]; then echo "demo check passed"; else echo "demo check FAILED"; exit 1; fi
