#!/usr/bin/env bash
# The main job: the CLI on the bundled example (writes out/report.json and out/scores.csv),
# then the web page with the bundled demos, built and served at http://localhost:8080/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
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
echo
echo "The page: http://localhost:8080/ (Ctrl-C stops the server)"
npm start
