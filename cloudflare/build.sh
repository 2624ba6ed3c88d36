#!/bin/sh
# wrangler's build command: cloudflare/build/worker/{shim.mjs,index.wasm} from the pinned tools of
# scripts/setup.sh, offline. cargo builds the module, wasm-bindgen writes its JavaScript glue,
# scripts/wasm-opt.sh shrinks it, and esbuild bundles shim.js (the Worker's entry point) with the glue.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
for tool in "$root/.tools/bin/wasm-bindgen" "$root/node_modules/.bin/esbuild"; do
  if [ ! -x "$tool" ]; then
    echo "corsguard: $tool is missing: run scripts/setup.sh workers" >&2
    exit 1
  fi
done
target="${CARGO_TARGET_DIR:-$root/target}"
out="$root/cloudflare/build/worker"
glue=$(mktemp -d)
trap 'rm -rf "$glue"' EXIT
cargo build --locked --quiet --release --target wasm32-unknown-unknown -p corsguard-cloudflare
"$root/.tools/bin/wasm-bindgen" --target bundler --no-typescript --out-dir "$glue" --out-name index \
  "$target/wasm32-unknown-unknown/release/corsguard_cloudflare.wasm"
cp "$root/cloudflare/shim.js" "$glue/shim.js"
rm -rf "$root/cloudflare/build" && mkdir -p "$out"
"$root/scripts/wasm-opt.sh" "$glue/index_bg.wasm" "$out/index.wasm"
cp "$out/index.wasm" "$glue/index.wasm"
"$root/node_modules/.bin/esbuild" --log-level=warning --format=esm --bundle --minify \
  --external:./index.wasm --external:cloudflare:workers "$glue/shim.js" --outfile="$out/shim.mjs"
