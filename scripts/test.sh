#!/usr/bin/env bash
# Installs what is missing, then runs every test: formatting, lints and docs, the core's unit, vector
# and property tests, the no_std builds for both Wasm targets, fuzzing, the portable builds, and the
# end-to-end suites against a real Envoy, real workerd, real Viceroy, real Wasmtime, real Deno and
# real Chromium. With CI=true a missing runtime fails the run.
# Usage: scripts/test.sh           everything (what CI runs)
#        scripts/test.sh --fast    the fast tier only: formatting, lints, docs, unit, vector and
#                                  property tests (needs the Rust toolchain and its wasm32-wasip1 target)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export WRANGLER_SEND_METRICS=false
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

fast_tier() {
  step "format, lints and docs"
  cargo fmt --all -- --check
  # The Fastly app builds for wasm32-wasip1 only (its SDK's host calls exist nowhere else).
  cargo clippy --locked --workspace --exclude corsguard-fastly --all-targets -- -D warnings
  cargo clippy --locked -p corsguard-fastly --target wasm32-wasip1 -- -D warnings
  cargo fmt --manifest-path fuzz/Cargo.toml -- --check
  cargo clippy --locked --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings
  RUSTDOCFLAGS="-D warnings" cargo doc --locked --quiet --no-deps --workspace --exclude corsguard-fastly
  RUSTDOCFLAGS="-D warnings" cargo doc --locked --quiet --no-deps -p corsguard-fastly --target wasm32-wasip1

  step "core and the corsguard command: unit, vector, property, doc and command tests"
  cargo test --locked --release -p corsguard -p corsguard-browser -p corsguard-cli -p corsguard-proxy-wasm
}

if [ "${1:-}" = "--fast" ]; then
  fast_tier
  exit 0
fi

step "setup"
scripts/setup.sh
fast_tier

step "core: no_std builds for wasm32-unknown-unknown and wasm32-wasip1"
for target in wasm32-unknown-unknown wasm32-wasip1; do
  cargo build --locked -p corsguard --release --target "$target"
  cargo build --locked -p corsguard --release --target "$target" --features std
done

step "fuzz: every target, bounded"
scripts/fuzz.sh "${FUZZ_SECONDS:-30}"

step "portable builds: engine component (jco), wasi:http component (wasmtime serve, jco serve), npm package (Node 22, workerd) and Lambda@Edge"
scripts/setup.sh portable
component/build.sh
npm/build.sh
timeout 1800 node_modules/.bin/node --test --test-concurrency=1 \
  component/test/engine.test.mjs npm/test/npm.test.mjs npm/test/lambda-edge.test.mjs npm/test/workerd.test.mjs \
  component/test/http.test.mjs

step "end to end: real edges"
.tools/venv/bin/python -m pytest tests/e2e -q -p no:cacheprovider
