#!/usr/bin/env bash
# Builds the Envoy/Istio filter: target/envoy/corsguard.wasm (what envoy/envoy.yaml loads).
# With --bench it also builds the bench's empty filter: target/envoy/bench_empty_filter.wasm.
# wasm-opt -Oz (npm binaryen, from `scripts/setup.sh node`) shrinks the module when present;
# without it the module is used as cargo built it (larger, same behaviour).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out="$root/target/envoy"
mkdir -p "$out"
release="$root/target/wasm32-wasip1/release"

args=(--lib)
[ "${1:-}" = "--bench" ] && args+=(--example bench_empty_filter)
cargo build --quiet --release --target wasm32-wasip1 -p corsguard-proxy-wasm "${args[@]}"

wasm_opt="$root/node_modules/.bin/wasm-opt"
# Rust's wasm32-wasip1 output uses these post-MVP features; wasm-opt must be told (see toolchain notes).
features=(--enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int
  --enable-mutable-globals --enable-reference-types --enable-multivalue)
finish() { # built.wasm name
  if [ -x "$wasm_opt" ]; then
    "$wasm_opt" "${features[@]}" -Oz --strip-debug --strip-producers "$1" -o "$out/$2.wasm.tmp"
  else
    echo "note: $wasm_opt not found (scripts/setup.sh node); $2.wasm is not size-optimised" >&2
    cp "$1" "$out/$2.wasm.tmp"
  fi
  mv "$out/$2.wasm.tmp" "$out/$2.wasm"
}
finish "$release/corsguard_proxy_wasm.wasm" corsguard
[ "${1:-}" = "--bench" ] && finish "$release/examples/bench_empty_filter.wasm" bench_empty_filter
echo "$out/corsguard.wasm"
