#!/usr/bin/env bash
# Every test: the engine's unit and integration tests (CLI, zoo, malformed inputs, tract vs
# onnxruntime), then the page: the wasm bundle and site built, type-checked, and driven in
# Debian's headless Chromium (demo end to end, uploads, bad uploads, network requests).
# The GPU path's tests need a Vulkan adapter (lavapipe, installed by setup.sh, if nothing
# else). Screenshots land in test-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
# Mesa's software drivers want a runtime directory; a bare CI machine has none.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo test --lib --bins --tests   # not --benches: the benchmark runs in release via cargo bench
cargo build --quiet   # the CLI the browser tests compare the page with
npm run build
npm run typecheck
npm run test:browser
