#!/usr/bin/env bash
# Builds the npm package into npm/pkg/: cargo builds the module, the pinned wasm-bindgen of
# .tools/bin writes its JavaScript glue (--target web), scripts/wasm-opt.sh shrinks it, and the
# JavaScript entry points of npm/js/ are copied beside it. Needs `scripts/setup.sh portable`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target="${CARGO_TARGET_DIR:-$root/target}"
cd "$root/npm"
rm -rf pkg
cargo build --locked --quiet --release --target wasm32-unknown-unknown -p corsguard-npm
"$root/.tools/bin/wasm-bindgen" --target web --no-typescript --out-dir pkg --out-name engine \
  "$target/wasm32-unknown-unknown/release/corsguard_npm.wasm"
"$root/scripts/wasm-opt.sh" pkg/engine_bg.wasm pkg/engine_bg.wasm
cp js/*.js js/*.d.ts pkg/
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
sed "s/VERSION/$version/" js/package.json >pkg/package.json
