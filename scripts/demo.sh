#!/usr/bin/env bash
# The main job: the CLI audits a bundled clinical model that leaks (SUPPORT2's overfit MLP,
# with its 16 reference models: the loss attack against LiRA and RMIA; writes
# out/report.json and out/scores.csv), then the web page with every bundled demo, built and
# served at http://localhost:8080/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet
mialab=target/release/mialab
mkdir -p out
"$mialab" audit --zoo support2/overfit --attack loss,lira-online,rmia-online \
  --out out/report.json --per-record out/scores.csv
echo
echo "The loss attack's AUC looks close to LiRA's; at 0.1% FPR LiRA and RMIA name far more members."
echo "Every zoo target and attack: docs/attacks.md. The page: http://localhost:8080/ (Ctrl-C stops the server)"
npm start
