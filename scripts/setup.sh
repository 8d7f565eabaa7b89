#!/usr/bin/env bash
# Installs what mialab needs and is missing, by name from the package registries: the Rust
# toolchain and wasm32 target (rust-toolchain.toml), wasm-bindgen-cli at exactly the crate's
# wasm-bindgen version, the npm packages (package-lock.json), and for the tests Debian's
# Chromium and Mesa's Vulkan drivers (lavapipe: the GPU path's tests run on its software
# adapter where a machine has no GPU). Safe to run again: each step is skipped when already
# satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install --no-self-update
rustup target add wasm32-unknown-unknown >/dev/null

want=$(grep -A3 'name = "wasm-bindgen"' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p' | head -1)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "installing wasm-bindgen-cli $want (about 11 minutes the first time)"
  cargo install wasm-bindgen-cli --version "=$want"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund
fi

if [ "${1:-}" = "--browser" ]; then
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver)
  ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || missing+=(mesa-vulkan-drivers libvulkan1)
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
  fi
fi
