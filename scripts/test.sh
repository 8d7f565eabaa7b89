#!/usr/bin/env bash
# Every test: the engine's unit tests and the integration tests (CLI, bundled example,
# malformed inputs, tract vs onnxruntime). Needs only the Rust toolchain pinned in
# rust-toolchain.toml, which rustup installs on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --all-targets
