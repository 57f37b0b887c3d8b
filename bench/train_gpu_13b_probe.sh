#!/usr/bin/env bash
# GPU check of the trainer at CodeFuse-13B's layer shapes: the 13B-probe flavor (6 of 13B's 40 layers: hidden 5120,
# 40 heads, FFN 20480, vocabulary 100,864) at seq 4096 on one GPU, TP=1 (the preset's TP=2 + SP needs 2 GPUs), the
# 13B preset's ZeRO-1 and fp16 settings, no activation checkpointing. First which attention kernel runs
# (bench/attn_kernel_probe.py), then each variant in its own timeout (figures print as they come), then a
# side-by-side summary with train/memory.py's estimate beside the measured peak memory.
# Usage: bash bench/train_gpu_13b_probe.sh [OUT_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
OUT=${1:-out/train_gpu_13b_probe}
FLAVOR=${FLAVOR:-13B-probe}
SEQ=${SEQ:-4096}
VOCAB=${VOCAB:-100864}
STEPS=${STEPS:-6}              # the summary averages the steps after the first 2 (compilation, allocator growth)
LOSS_CHUNK=${LOSS_CHUNK:-0}    # model.loss_chunk_tokens for every variant (0: the loss in one pass)
PER_RUN_S=${PER_RUN_S:-120}    # one variant's limit
TOTAL_S=${TOTAL_S:-0}          # > 0: skip variants that would not finish inside this many seconds (summary included)
KERNEL_MODES=${KERNEL_MODES:-eager,compile}
# label:dtype:micro_batch:global_batch:compile_blocks:sdpa[:key=value,key=value] (extra trainer --set overrides);
# first the paper's per-replica batch (4096 sequences / 256 replicas = 16 per optimizer step) in fp16 and bf16,
# then the earlier measurement's layout (micro 2, global 8, eager) and the ablations between the two.
VARIANTS=${VARIANTS:-"fp16-m4g16-compile:fp16:4:16:true:cudnn bf16-m4g16-compile:bf16:4:16:true:cudnn
bf16-m2g8-eager:bf16:2:8:false:cudnn bf16-m2g16-eager:bf16:2:16:false:cudnn bf16-m4g16-eager:bf16:4:16:false:cudnn
bf16-m4g16-flash:bf16:4:16:true:flash"}
export PYTHONUNBUFFERED=1
rm -rf "$OUT" && mkdir -p "$OUT" || exit 1
"$PY" -c 'import os, torch, deepspeed
assert torch.cuda.is_available() or os.environ.get("REQUIRE_CUDA") == "0", "no CUDA device"
name = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
print(f"torch {torch.__version__}, deepspeed {deepspeed.__version__}, {name}")' || exit 1
labels="" dtypes="" pins="" max_global=1
for v in $VARIANTS; do
  IFS=: read -r label dtype micro global compile sdpa extra <<<"$v"
  [ -n "$sdpa" ] || { echo "bad variant '$v': want label:dtype:micro:global:compile:sdpa[:k=v,...]"; exit 2; }
  labels="$labels $label"
  case ",$dtypes," in *",$dtype,"*) ;; *) dtypes="${dtypes:+$dtypes,}$dtype" ;; esac
  case ",$pins," in *",$sdpa,"*) ;; *) pins="${pins:+$pins,}$sdpa" ;; esac
  [ "$global" -gt "$max_global" ] && max_global=$global
done
"$PY" -m train.shards --out "$OUT/shards" --rows $((STEPS * max_global)) --seq-len "$SEQ" --vocab "$VOCAB" \
  >/dev/null || exit 1

left() { [ "$TOTAL_S" -gt 0 ] && echo $((TOTAL_S - SECONDS)) || echo 1000000; }
echo "=== attention kernel ($pins; $dtypes; $KERNEL_MODES) ==="
timeout "${KERNEL_PROBE_S:-90}" "$PY" -m bench.attn_kernel_probe --flavor "$FLAVOR" --seq "$SEQ" --batch 4 \
  --dtypes "$dtypes" --sdpa "$pins" --modes "$KERNEL_MODES" 2>&1 | grep --line-buffered -v "^USDT:" \
  || echo "=== attention probe failed or found a mismatch (exit ${PIPESTATUS[0]}) ==="
for v in $VARIANTS; do
  IFS=: read -r label dtype micro global compile sdpa extra <<<"$v"
  limit=$(( $(left) - 25 < PER_RUN_S ? $(left) - 25 : PER_RUN_S ))
  if [ "$limit" -lt 45 ]; then echo "=== $label skipped: ${limit}s left of TOTAL_S=$TOTAL_S ==="; continue; fi
  sets=()
  for kv in ${extra//,/ }; do sets+=(--set "$kv"); done
  echo "=== $label: $FLAVOR seq $SEQ $dtype, micro batch $micro, global batch $global, compile=$compile, sdpa=$sdpa," \
       "checkpointing=false, loss chunk $LOSS_CHUNK${extra:+, $extra} (limit ${limit}s) ==="
  timeout "$limit" "$PY" -m train --preset 13B \
    --set model.flavor="$FLAVOR" --set data.manifest="$OUT/shards" --set data.seq_len="$SEQ" \
    --set run.output="$OUT/$label" --set precision.dtype="$dtype" --set model.loss_chunk_tokens="$LOSS_CHUNK" \
    --set model.compile_blocks="$compile" --set model.sdpa_backend="$sdpa" \
    --set model.activation_checkpointing=false --set parallel.tensor=1 --set parallel.sequence=false \
    --set batch.micro_batch="$micro" --set batch.global_batch="$global" \
    --set schedule.max_steps="$STEPS" --set schedule.warmup_steps=1 --set logging.every_steps=1 \
    --set logging.progress_bar=false --set logging.tensorboard=false --set checkpoint.every_steps=0 \
    --set checkpoint.at_end=false --set checkpoint.resume=none --set run.export_hf=false "${sets[@]}" 2>&1 \
    | tee "$OUT/$label.log" | grep --line-buffered -v -E "^\[[0-9-]+ [0-9:,]+\] \[(INFO|WARNING)\]|^USDT:"
  status=${PIPESTATUS[0]}
  [ "$status" = 0 ] || echo "=== $label failed (exit $status): see $OUT/$label.log ==="
done
echo "=== summary ($SECONDS s so far) ==="
# shellcheck disable=SC2086
"$PY" -m bench.train_gpu_probe_summary "$OUT" $labels
