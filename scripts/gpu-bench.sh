#!/bin/bash
# The GPU measurements of docs/gpu.md, on a machine with an NVIDIA GPU, from binaries built
# elsewhere: the backends benchmark on both zoo targets, then zoo audits with --backend gpu
# and cpu at one thread and at every core.
#
# Prepare (where cargo is):
#   cargo build --release --bin mialab --bench backends
#   mkdir -p .devkit && cp target/release/mialab .devkit/ \
#     && cp "$(ls -t target/release/deps/backends-* | grep -v '\.d$' | head -1)" .devkit/backends
# Run there from the repository root: bash scripts/gpu-bench.sh (OUT=DIR keeps the log and
# reports; default /tmp/out). Where the machine has no Vulkan loader, unpack Debian's
# libvulkan1 and libglvnd0 first (the NVIDIA ICD library needs both); where no ICD file is
# registered, one is written for the driver's libGLX_nvidia.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-bench.txt") 2>&1
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$icd" ]; then
  export VK_DRIVER_FILES=$icd
elif ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  lib=$(ldconfig -p | awk '/libGLX_nvidia.so.0/{print $NF; exit}')
  mkdir -p /tmp/icd
  printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$lib" >/tmp/icd/nvidia_icd.json
  export VK_DRIVER_FILES=/tmp/icd/nvidia_icd.json
fi
export MIALAB_MODELS=$PWD/models
for t in fashion_mnist/overfit support2/overfit; do
  echo "== backends $t"; timeout 300 .devkit/backends "$t"
done
audit() {
  /usr/bin/time -f "$1 --backend $2 --threads $3: wall %e s" timeout 120 .devkit/mialab audit --zoo "$1" \
    --backend "$2" --threads "$3" -q --attack lira-online,rmia-online,loss \
    --out "$OUT/$(echo "$1" | tr / _)_$2_$3.json" 2>&1 | tail -1
}
echo "== zoo audits"
for t in fashion_mnist/overfit support2/overfit; do
  for threads in 1 "$(nproc)"; do audit "$t" gpu "$threads"; audit "$t" cpu "$threads"; done
done
