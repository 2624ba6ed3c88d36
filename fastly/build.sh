#!/usr/bin/env bash
# Builds the Fastly Compute app: target/fastly/corsguard-fastly.wasm (what fastly.toml and the
# tests serve). scripts/wasm-opt.sh shrinks it (npm binaryen, from `scripts/setup.sh node`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out="$root/target/fastly"
mkdir -p "$out"
cargo build --quiet --release --target wasm32-wasip1 -p corsguard-fastly
"$root/scripts/wasm-opt.sh" "$root/target/wasm32-wasip1/release/corsguard-fastly.wasm" "$out/corsguard-fastly.wasm.tmp"
mv "$out/corsguard-fastly.wasm.tmp" "$out/corsguard-fastly.wasm"
echo "$out/corsguard-fastly.wasm"
