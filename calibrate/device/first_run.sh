#!/bin/bash
# The one prepared script for a lent GPU machine (device tool; see calibrate/device/README.md):
# kernel correctness, the calibration sweep within a time budget, and PyTorch reference timings.
# Expects the binaries built on the build machine and carried in .gpu/ (README.md says how). Each stage
# has its own timeout and the stages run even if an earlier one failed; everything lands in $OUT.
# Read-only towards the GPU: no clock, power, MIG, persistence or reset commands.
set -u
BUDGET=${BUDGET:-300}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
cd "$(dirname "$0")/../.."
G=$PWD/.gpu
# Toolkit first, then the NVIDIA wheels PyTorch brings (NCCL, cuDNN), then what we carried.
LIBS=/usr/local/cuda/lib64
for d in $(find / -xdev -path '*site-packages/nvidia/*/lib' -type d 2>/dev/null | sort); do LIBS=$LIBS:$d; done
export LD_LIBRARY_PATH=$LIBS:$G/lib
{
  date -u; uname -a; nvidia-smi; nvidia-smi -q -d CLOCK,PERFORMANCE,POWER
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"; ldd "$G/foresight-calibrate"
} > "$OUT/env.txt" 2>&1
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu,utilization.gpu \
  --format=csv -lms 1000 > "$OUT/clocks.csv" 2>&1 &
SMI=$!
t0=$(date +%s)
# cuDNN's own log (warnings and errors) says why a graph gets no engine.
export CUDNN_LOGLEVEL_DBG=2 CUDNN_LOGDEST_DBG="$OUT/cudnn.log"
# cuBLASLt's errors and hints likewise (mask 1|4), for a shape it refuses.
export CUBLASLT_LOG_MASK=5 CUBLASLT_LOG_FILE="$OUT/cublaslt.log"
timeout 150 "$G/test_gpu_kernels" --durations yes > "$OUT/gpu_tests.txt" 2>&1
echo "test_gpu_kernels exit $? in $(( $(date +%s) - t0 )) s" | tee -a "$OUT/summary.txt"
t1=$(date +%s)
timeout $((BUDGET + 60)) "$G/foresight-calibrate" run --out "$OUT/raw.json" --budget "$BUDGET" > "$OUT/calibrate.log" 2>&1
echo "foresight-calibrate run exit $? in $(( $(date +%s) - t1 )) s" | tee -a "$OUT/summary.txt"
if [ "${SKIP_TORCH:-0}" != 1 ]; then
  t2=$(date +%s)
  PYTHONUNBUFFERED=1 timeout 90 python3 calibrate/device/torch_reference.py "$OUT/torch_reference.json" > "$OUT/torch_reference.txt" 2>&1
  echo "torch reference exit $? in $(( $(date +%s) - t2 )) s" | tee -a "$OUT/summary.txt"
fi
kill $SMI 2>/dev/null
gzip -f "$OUT/raw.json" 2>/dev/null
grep -E "passed|failed|FAILED|assertions" "$OUT/gpu_tests.txt" | tail -5
grep -E "FAILED|measurements|skipping" "$OUT/calibrate.log" | tail -12
tail -3 "$OUT/torch_reference.txt" 2>/dev/null
grep -i "cudnn-sdpa" "$OUT/calibrate.log" | head -3
cat "$OUT/summary.txt"
