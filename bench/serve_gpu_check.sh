#!/usr/bin/env bash
# GPU check of serving (at most ~5 minutes on one GPU): generation tokens/s of a full Hugging Face folder and of its
# int4 quantization (python -m deploy quantize's output), batch 1 and 16, side by side; then, where fastapi, uvicorn
# and openai are importable, the server itself on the GPU at 1 and 4 clients.
# Usage: bash bench/serve_gpu_check.sh FULL_DIR [INT4_DIR] [OUT_DIR]   (no INT4_DIR: the full folder alone)
# Loading a compressed-tensors int4 folder needs the compressed-tensors package; WHEELS=dir installs it from
# wheels carried there (no internet on the GPU machine).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
FULL=${1:?usage: bash bench/serve_gpu_check.sh FULL_DIR [INT4_DIR] [OUT_DIR]}
INT4=${2:-}
OUT=${3:-out/serve_gpu_check}
PER_RUN_S=${PER_RUN_S:-110}
DEVICE=${DEVICE:-cuda}     # DEVICE=cpu runs the same steps on the CPU (a dry run of the script on a small model)
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
rm -rf "$OUT" && mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,memory.used,utilization.gpu --format=csv || true
"$PY" -c 'import torch, transformers; print(f"torch {torch.__version__}, transformers {transformers.__version__}")'
if [ -n "${WHEELS:-}" ]; then
  "$PY" -m pip install --quiet --no-index --find-links "$WHEELS" compressed-tensors || echo "compressed-tensors: not installed from $WHEELS"
fi
set +e  # one failed folder must not hide the other's figures
timeout "$PER_RUN_S" "$PY" -m bench.serve_gpu_bench --model "$FULL" --label full --out "$OUT/gen.jsonl" --device "$DEVICE" \
  || echo "=== full: failed or timed out (exit $?) ==="
if [ -n "$INT4" ]; then
  timeout "$PER_RUN_S" "$PY" -m bench.serve_gpu_bench --model "$INT4" --label int4 --out "$OUT/gen.jsonl" --device "$DEVICE" \
    || echo "=== int4: failed or timed out (exit $?) ==="
else
  echo "=== int4: no folder given (python -m deploy quantize writes one) ==="
fi
[ -s "$OUT/gen.jsonl" ] && "$PY" -m bench.serve_gpu_bench --summary --out "$OUT/gen.jsonl"
if "$PY" -c 'import fastapi, uvicorn, openai' 2>/dev/null; then
  echo "=== the server on the GPU (full folder): 8 completions per level ==="
  timeout 70 "$PY" -m bench.serve_throughput --model "$FULL" --device "$DEVICE" --clients 1,4 --requests 8 \
    --work "$OUT/served" || echo "=== served check failed or timed out (exit $?): see $OUT/served/serve.log ==="
else
  echo "=== served check skipped: fastapi, uvicorn or openai is not importable here ==="
fi
