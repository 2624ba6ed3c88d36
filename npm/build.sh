#!/usr/bin/env bash
# Builds the npm package into npm/pkg/: wasm-pack with the pinned wasm-bindgen CLI from .tools/bin
# (--mode no-install: nothing is downloaded), npm binaryen's wasm-opt, and the JavaScript entry
# points of npm/js/. Needs `scripts/setup.sh portable`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$root/.tools/bin:$PATH"
cd "$root/npm"
rm -rf pkg
wasm-pack --log-level warn build --release --mode no-install --target web --no-pack --out-dir pkg --out-name engine
# Rust 1.95 emits these features; binaryen refuses the module without them.
"$root/node_modules/.bin/wasm-opt" -Oz --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-mutable-globals --enable-reference-types --enable-multivalue pkg/engine_bg.wasm -o pkg/engine_bg.wasm
cp js/corsguard.js js/node.js pkg/
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
sed "s/VERSION/$version/" js/package.json >pkg/package.json
rm -f pkg/.gitignore pkg/engine_bg.wasm.d.ts
