#!/usr/bin/env bash
# Builds the Fastly Compute app: target/fastly/corsguard-fastly.wasm (what fastly.toml and the
# tests serve). With --bench it also builds the benchmark's pass-through app:
# target/fastly/passthrough.wasm. scripts/wasm-opt.sh shrinks each (npm binaryen, `setup.sh node`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out="$root/target/fastly"
mkdir -p "$out"
release="$root/target/wasm32-wasip1/release"

args=(--bin corsguard-fastly)
[ "${1:-}" = "--bench" ] && args+=(--example passthrough)
cargo build --locked --quiet --release --target wasm32-wasip1 -p corsguard-fastly "${args[@]}"

finish() { # built.wasm name
  "$root/scripts/wasm-opt.sh" "$1" "$out/$2.wasm.tmp"
  mv "$out/$2.wasm.tmp" "$out/$2.wasm"
}
finish "$release/corsguard-fastly.wasm" corsguard-fastly
[ "${1:-}" = "--bench" ] && finish "$release/examples/passthrough.wasm" passthrough
echo "$out/corsguard-fastly.wasm"
