#!/usr/bin/env bash
# Fuzzes targets one after another, each until 1,000,000 executions or SECONDS seconds, and
# prints one line per target: executions, seconds, and whether it found a crash (kept under
# fuzz/artifacts/TARGET/). Needs nightly and cargo-fuzz (`cargo install cargo-fuzz`) and the
# seed corpus (`bash fuzz/seed.sh`).
# Exits non-zero if any target crashed or failed to run. The toolchain is nightly, or
# $FUZZ_TOOLCHAIN (CI pins one).
# Usage: bash fuzz/run.sh SECONDS TARGET...     e.g. bash fuzz/run.sh 1800 onnx_model csv_records
set -uo pipefail
cd "$(dirname "$0")"
seconds=${1:?seconds per target}
shift
toolchain=${FUZZ_TOOLCHAIN:-nightly}
failed=0
for t in "$@"; do
  log=$(mktemp)
  start=$SECONDS
  cargo +"$toolchain" fuzz run "$t" "corpus/$t" -- -runs=1000000 -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 > "$log" 2>&1
  status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  crash=$(grep -m1 -o 'Test unit written to .*' "$log" || true)
  echo "$t: ${runs:-?} executions in $((SECONDS - start)) s, exit $status${crash:+, CRASH: $crash}"
  if [ $status -ne 0 ]; then
    failed=1
    mkdir -p artifacts
    tail -40 "$log" | tee "artifacts/$t.log"
  fi
  rm -f "$log"
done
exit $failed
