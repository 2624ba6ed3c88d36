#!/usr/bin/env bash
# Builds the engine component (component/dist/corsguard-engine.wasm, the corsguard:engine/engine
# world of wit/): a core module for wasm32-unknown-unknown, shrunk by scripts/wasm-opt.sh, made
# a component by jco's `new` (wasm-tools component new), then transpiled by jco for the Node tests
# (component/dist/engine-js/). Needs `scripts/setup.sh portable`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
node="$root/node_modules/.bin/node"
jco() { "$node" "$root/component/node_modules/@bytecodealliance/jco/dist/jco.js" "$@"; }
dist="$root/component/dist"
target="${CARGO_TARGET_DIR:-$root/target}"
mkdir -p "$dist"

cargo build --locked -p corsguard-component --release --target wasm32-unknown-unknown
"$root/scripts/wasm-opt.sh" "$target/wasm32-unknown-unknown/release/corsguard_component.wasm" "$dist/engine.core.wasm"
jco new "$dist/engine.core.wasm" -o "$dist/corsguard-engine.wasm"
rm -rf "$dist/engine-js"
jco transpile "$dist/corsguard-engine.wasm" --name engine --out-dir "$dist/engine-js" --quiet
