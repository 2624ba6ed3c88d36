#!/usr/bin/env bash
# Builds the Envoy/Istio filter: target/envoy/corsguard.wasm (what envoy/envoy.yaml loads).
# With --bench it also builds the bench's empty filter: target/envoy/bench_empty_filter.wasm.
# scripts/wasm-opt.sh shrinks each module (npm binaryen, from `scripts/setup.sh node`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out="$root/target/envoy"
mkdir -p "$out"
release="$root/target/wasm32-wasip1/release"

args=(--lib)
[ "${1:-}" = "--bench" ] && args+=(--example bench_empty_filter)
cargo build --locked --quiet --release --target wasm32-wasip1 -p corsguard-proxy-wasm "${args[@]}"

finish() { # built.wasm name
  "$root/scripts/wasm-opt.sh" "$1" "$out/$2.wasm.tmp"
  mv "$out/$2.wasm.tmp" "$out/$2.wasm"
}
finish "$release/corsguard_proxy_wasm.wasm" corsguard
[ "${1:-}" = "--bench" ] && finish "$release/examples/bench_empty_filter.wasm" bench_empty_filter
echo "$out/corsguard.wasm"
