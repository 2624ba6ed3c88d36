#!/bin/sh
# wrangler's build command: builds the Worker with the pinned tools that scripts/setup.sh installs
# into the checkout, fully offline (worker-build would otherwise download wasm-bindgen, wasm-opt and esbuild).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
for tool in "$root/.tools/bin/worker-build" "$root/.tools/bin/wasm-bindgen" "$root/node_modules/.bin/wasm-opt" \
  "$root/node_modules/.bin/esbuild"; do
  if [ ! -x "$tool" ]; then
    echo "corsguard: $tool is missing: run scripts/setup.sh workers" >&2
    exit 1
  fi
done
cd "$root/cloudflare"
WASM_BINDGEN_BIN="$root/.tools/bin/wasm-bindgen" WASM_OPT_BIN="$root/node_modules/.bin/wasm-opt" \
  ESBUILD_BIN="$root/node_modules/.bin/esbuild" CUSTOM_SHIM="$root/cloudflare/shim.js" \
  exec "$root/.tools/bin/worker-build" --release "$@"
