#!/usr/bin/env bash
# The main job on the bundled example: inspect the model and audit an
# MLP trained on half of the breast-cancer set. Writes out/report.json and out/scores.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
example=models/breast_cancer
cargo build --release --quiet
mialab=target/release/mialab
mkdir -p out
"$mialab" inspect "$example/model.onnx"
echo
"$mialab" audit \
  --model "$example/model.onnx" \
  --records "$example/audit.csv" \
  --population "$example/population.csv" \
  --schema "$example/schema.json" \
  --out out/report.json \
  --per-record out/scores.csv
