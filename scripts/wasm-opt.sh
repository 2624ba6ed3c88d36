#!/usr/bin/env bash
# Shrinks a built module: npm binaryen's wasm-opt (scripts/setup.sh node), the one way every build
# script optimises. Usage: scripts/wasm-opt.sh in.wasm out.wasm (in and out may be the same file).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
wasm_opt="$root/node_modules/.bin/wasm-opt"
if [ ! -x "$wasm_opt" ]; then
  echo "corsguard: $wasm_opt is missing: run scripts/setup.sh node" >&2
  exit 1
fi
# Rust 1.95 emits these post-MVP features; binaryen refuses the module unless told. Debug names and
# producer sections go: they are a third of a module's size and nothing at the edge reads them.
exec "$wasm_opt" -Oz --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-mutable-globals --enable-reference-types --enable-multivalue --strip-debug --strip-producers \
  "$1" -o "$2"
