#!/usr/bin/env bash
# Writes the golden reports the test `golden` compares against: run once with the mialab that
# came before a refactoring (from the repository root), then commit what it writes.
# Usage: bash tests/golden/make_golden.sh path/to/mialab
set -euo pipefail
cd "$(dirname "$0")/../.."
M=${1:?the mialab binary to record}
out=tests/golden/reports
mkdir -p "$out"
for set in support2 fashion_mnist; do
  d=tests/golden/${set}_subset
  classes=$(python3 -c "import json; print(','.join([x['classes'] for x in json.load(open('models/manifest.json'))['datasets'] if x['name']=='$set'][0]))")
  args=(--model models/$set/targets/overfit.onnx
    --records $d/audit_features.npy --labels $d/audit_labels.npy --membership $d/audit_members.npy --ids $d/audit_ids.txt
    --population $d/population_features.npy --population-labels $d/population_labels.npy --population-ids $d/population_ids.txt
    --references models/$set/references/overfit --keep-mask $d/keep.npy --classes "$classes" --backend tract -q)
  if [ $set = support2 ]; then
    "$M" audit "${args[@]}" --rmia-a tune --out $out/support2_all.json --per-record $out/support2_all.csv
    "$M" audit "${args[@]}" --defence noise:0.05 --attack loss,label-only,code-poison,lira-online,rmia-online,rmia-offline \
      --out $out/support2_noise.json --per-record $out/support2_noise.csv
    "$M" signals "${args[@]}" --out $d/signals.npz
    # The signals route gave the very same files; the test holds it to support2_all.
    "$M" audit --signals $d/signals.npz -q --rmia-a tune --backend tract --out /tmp/support2_signals.json
    cmp /tmp/support2_signals.json $out/support2_all.json
  else
    "$M" audit "${args[@]}" --augment-flip --attack loss,lira-online,lira-offline,calibrated-loss \
      --out $out/fashion_mnist_flip.json --per-record $out/fashion_mnist_flip.csv
    "$M" signals "${args[@]}" --augment-flip --out $d/signals.npz
    "$M" audit --signals $d/signals.npz -q --out $out/fashion_mnist_signals.json --per-record $out/fashion_mnist_signals.csv
  fi
done
e=models/breast_cancer
"$M" audit --model $e/model.onnx --records $e/audit.csv --population $e/population.csv --schema $e/schema.json \
  --backend tract -q --out $out/example.json --per-record $out/example.csv
# Per-record tables are kept as checksums only.
(cd $out && sha256sum *.csv > csv.sha256 && rm *.csv)
