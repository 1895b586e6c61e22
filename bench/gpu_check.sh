#!/usr/bin/env bash
# GPU benchmarks for the device machine; results go to the directory given as $1.
#
#   bash bench/gpu_check.sh "$OUT"            (from the repository root)
#
# Runs: the device description, bench/gpu_bench.py (samples/s and MFU of the
# trainer vs a hand loop for the MLP, ResNet and BERT-base at fp32, TF32 and bf16,
# the data-wait fraction and the recorded speed settings; gpu_bench.json in the
# output dir), bench/ddp_scaling.py --device cuda (trainer throughput fp32 vs bf16
# autocast vs fp16+GradScaler, AMP speed-up; 2 NCCL processes vs 1 when there are two
# GPUs) and bench/trainer_overhead.py --device cuda (the small digits MLP: overhead).
# PEAK_TFLOPS overrides the accelerators.csv peak for MFU (H100-SXM has none there).
# Each benchmark's output is kept in its own file; a failing one does not stop the
# others, and the script exits non-zero if any failed.
# PYTHON picks the interpreter (default: python3); STEPS/REPEATS scale the runs.
set -uo pipefail

out="${1:?usage: bench/gpu_check.sh OUTPUT_DIR}"
mkdir -p "$out"
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
REPEATS="${REPEATS:-3}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
failed=0

run() {  # run NAME COMMAND...: tee stdout+stderr to $out/NAME.txt, record the exit code
  local name="$1"
  shift
  echo "== $name: $*" | tee "$out/$name.txt"
  local start=$SECONDS
  "$@" 2>&1 | tee -a "$out/$name.txt"
  local code=${PIPESTATUS[0]}
  echo "== $name: exit $code after $((SECONDS - start)) s" | tee -a "$out/$name.txt"
  [ "$code" -eq 0 ] || failed=1
}

{
  date -u +"%Y-%m-%d %H:%M UTC"
  uname -a
  nproc
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || true
  "$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
    "available", torch.cuda.is_available(),
    torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'
} > "$out/device.txt" 2>&1
cat "$out/device.txt"

run gpu_bench "$PYTHON" bench/gpu_bench.py --device cuda --out "$out" \
  --steps "${BENCH_STEPS:-200}" --repeats "$REPEATS" ${PEAK_TFLOPS:+--peak-tflops "$PEAK_TFLOPS"}

run ddp_scaling_cuda "$PYTHON" bench/ddp_scaling.py --device cuda \
  --steps "${STEPS:-400}" --repeats "$REPEATS"
# Small model on the GPU too: how much of a step is Python/launch overhead.
run ddp_scaling_cuda_small "$PYTHON" bench/ddp_scaling.py --device cuda \
  --steps "${STEPS:-400}" --repeats "$REPEATS" --hidden 1024,1024 --batch-size 256

if [ -f bench/trainer_overhead.py ]; then
  run trainer_overhead_cuda "$PYTHON" bench/trainer_overhead.py --device cuda \
    --steps 3000 --repeats "$REPEATS"
else
  echo "bench/trainer_overhead.py is not in this tree: skipped" | tee "$out/trainer_overhead_cuda.txt"
fi

exit "$failed"
