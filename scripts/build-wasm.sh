#!/usr/bin/env bash
# Builds the engine for the browser: the wasm32 library in release, then wasm-bindgen (the
# CLI pinned to the crate's wasm-bindgen version) into www/pkg, and reports the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."

want=$(grep -A3 'name = "wasm-bindgen"' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p' | head -1)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "wasm-bindgen-cli $want is needed (found '${have:-none}'): cargo install wasm-bindgen-cli --version =$want" >&2
  exit 1
fi

cargo build --profile wasm --lib --target wasm32-unknown-unknown --no-default-features --features gpu
wasm-bindgen --target web --out-dir www/pkg --remove-name-section --remove-producers-section \
  target/wasm32-unknown-unknown/wasm/mialab.wasm
raw=$(stat -c %s www/pkg/mialab_bg.wasm)
gz=$(gzip -9 -c www/pkg/mialab_bg.wasm | wc -c)
awk -v r="$raw" -v g="$gz" 'BEGIN { printf "wasm bundle: %.2f MB raw, %.2f MB gzipped\n", r / 1e6, g / 1e6 }'
