#!/usr/bin/env bash
# Builds the wasi:http/proxy component: a core module for wasm32-unknown-unknown with the policy
# and upstream embedded (CORSGUARD_POLICY, CORSGUARD_UPSTREAM; see build.rs), shrunk by
# scripts/wasm-opt.sh, made a component by jco's `new` (wasm-tools component new).
# Usage: CORSGUARD_POLICY=policy.json CORSGUARD_UPSTREAM=http://127.0.0.1:8080 component/http/build.sh [out.wasm]
# (default out: component/dist/corsguard-http.wasm). Needs `scripts/setup.sh portable`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/component/dist/corsguard-http.wasm}
node="$root/node_modules/.bin/node"
target="${CARGO_TARGET_DIR:-$root/target}"
core=$(mktemp --suffix .wasm)
trap 'rm -f "$core"' EXIT
mkdir -p "$(dirname "$out")"
cargo build --locked --quiet -p corsguard-http-component --release --target wasm32-unknown-unknown
"$root/scripts/wasm-opt.sh" "$target/wasm32-unknown-unknown/release/corsguard_http_component.wasm" "$core"
"$node" "$root/component/node_modules/@bytecodealliance/jco/dist/jco.js" new "$core" -o "$out"
