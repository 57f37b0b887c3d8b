#!/usr/bin/env bash
# GPU check of the DeepSpeed trainer: the 1.3B flavor at seq 4096 on one GPU, fp16 then bf16, a few steps each on
# random-token shards written here as a proper manifest; prints the trainer's own metrics and a summary.
# Needs only `pip install -e .[train]` (no internet). Usage: bash bench/train_gpu_check.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
OUT=${1:-out/train_gpu_check}
FLAVOR=${FLAVOR:-1.3B}
SEQ=${SEQ:-4096}
MICRO=${MICRO_BATCH:-4}
GLOBAL=${GLOBAL_BATCH:-8}
STEPS=${STEPS:-8}
DTYPES=${DTYPES:-"fp16 bf16"}
VOCAB=${VOCAB:-100864}
LOSS_CHUNK=${LOSS_CHUNK:-0}
COMPILE=${COMPILE:-false}   # true: torch.compile each block (faster steps; the first step compiles)
SDPA=${SDPA:-auto}          # auto, cudnn, flash, efficient, math
CKPT=${CKPT:-true}          # activation checkpointing (false: faster steps, more memory)
# Faster settings to try when memory allows: CKPT=false COMPILE=true SDPA=cudnn (LOSS_CHUNK=8192 saves ~15 GB)
PER_RUN_S=${PER_RUN_S:-140}
export PYTHONUNBUFFERED=1
rm -rf "$OUT" && mkdir -p "$OUT"
"$PY" -c 'import os, torch, deepspeed
assert torch.cuda.is_available() or os.environ.get("REQUIRE_CUDA") == "0", "no CUDA device"
name = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
print(f"torch {torch.__version__}, deepspeed {deepspeed.__version__}, {name}")'
"$PY" -m train.shards --out "$OUT/shards" --rows $((STEPS * GLOBAL)) --seq-len "$SEQ" --vocab "$VOCAB" >/dev/null
set +e  # one failed precision must not hide the other's figures
for dtype in $DTYPES; do
  echo "=== $FLAVOR seq $SEQ $dtype: micro batch $MICRO, global batch $GLOBAL, $STEPS steps, compile=$COMPILE, sdpa=$SDPA, checkpointing=$CKPT ==="
  timeout "$PER_RUN_S" "$PY" -m train --preset 1.3B \
    --set model.flavor="$FLAVOR" --set data.manifest="$OUT/shards" --set data.seq_len="$SEQ" \
    --set run.output="$OUT/$dtype" \
    --set precision.dtype="$dtype" --set model.loss_chunk_tokens="$LOSS_CHUNK" \
    --set model.compile_blocks="$COMPILE" --set model.sdpa_backend="$SDPA" \
    --set model.activation_checkpointing="$CKPT" \
    --set batch.micro_batch="$MICRO" --set batch.global_batch="$GLOBAL" \
    --set schedule.max_steps="$STEPS" --set schedule.warmup_steps=1 --set logging.every_steps=1 \
    --set logging.progress_bar=false --set checkpoint.every_steps=0 --set checkpoint.at_end=false \
    --set checkpoint.resume=none --set run.export_hf=false 2>&1 | tee "$OUT/$dtype.log" \
    | grep --line-buffered -v -E "^\[[0-9-]+ [0-9:,]+\] \[(INFO|WARNING)\]"
  status=${PIPESTATUS[0]}
  [ "$status" = 0 ] || echo "=== $dtype run failed (exit $status): see $OUT/$dtype.log ==="
done
set -e
"$PY" -m bench.train_gpu_summary "$OUT" $DTYPES
