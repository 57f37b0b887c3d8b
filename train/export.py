"""`python -m train.export RUN_DIR [--tag T] [--out DIR]`: a Hugging Face folder from a run's newest complete
checkpoint (fp32 master weights gathered by DeepSpeed's zero_to_fp32; a tensor-parallel checkpoint's per-rank weights
merged into one model; a LoRA run's adapters merged into the weights), with the shards' tokenizer beside it."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import yaml

from train import checkpoint as ckpt
from train.data import read_manifest, tokenizer_dir

MODEL_STATES = "mp_rank_00_model_states.pt"
MODEL_CONFIG = "model_config.json"  # the run's ModelConfig, written by the trainer at start


def model_config(flavor: str, max_seq_len: int, manifest):
    """The flavor's shape with the manifest's vocabulary (and sequence length where asked): the trainer's rule."""
    from model import FLAVORS

    if flavor not in FLAVORS:
        raise ValueError(f"model.flavor {flavor!r} is not one of {list(FLAVORS)}")
    mcfg = FLAVORS[flavor].with_vocab(manifest.vocab_size)
    if max_seq_len:
        mcfg = mcfg.replace(max_seq_len=manifest.seq_len if max_seq_len < 0 else max_seq_len)
    return mcfg


def _tensor_parallel_weights(folder: Path, tp: int) -> dict:
    """The merged model of a tensor-parallel checkpoint: each rank's module weights (in the training precision:
    zero_to_fp32 reads one tensor-parallel rank only), put back together by train/parallel.py's inverse of the split."""
    import torch

    from train.parallel import merge

    shards = [torch.load(folder / f"mp_rank_{r:02d}_model_states.pt", map_location="cpu", weights_only=False)["module"]
              for r in range(tp)]
    return {k.removeprefix("model."): v.float() for k, v in merge(shards).items()}


def _weights(ckpt_dir: Path, tag: str, states: dict) -> dict:
    from train.parallel import checkpoint_degree

    tp = checkpoint_degree(ckpt_dir / tag)
    if tp > 1:
        return _tensor_parallel_weights(ckpt_dir / tag, tp)
    if any((ckpt_dir / tag).glob("*optim_states.pt")) and states.get("ds_config", {}).get(
            "zero_optimization", {}).get("stage", 0) > 0:
        from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint

        sd = get_fp32_state_dict_from_zero_checkpoint(str(ckpt_dir), tag=tag)
        # frozen parameters (LoRA's base weights) have no optimizer state, and under ZeRO-1 DeepSpeed records them
        # for zero_to_fp32 not at all: they are the module's own weights (the training precision; never updated)
        sd = {**states["module"], **sd}
    else:  # ZeRO-0: the engine's module weights are the model
        sd = states["module"]
    return {k.removeprefix("model."): v.float() for k, v in sd.items()}


def run_model_config(run_dir: Path, cfg: dict):
    """The run's model shape: <run>/model_config.json (written at start; a fine-tuning run takes the shape of its
    sft.init_from), else, for runs from before it existed, the flavor with the manifest's vocabulary."""
    from model import ModelConfig

    saved = run_dir / MODEL_CONFIG
    if saved.is_file():
        return ModelConfig(**json.loads(saved.read_text()))
    manifest, _ = read_manifest(cfg["data"]["manifest"])
    return model_config(cfg["model"]["flavor"], cfg["model"]["max_seq_len"], manifest)


def load_run_model(run_dir: str | Path, tag: str | None = None):
    """(GPTNeoX in float32, the run's config dict, the checkpoint folder, its step) from the run's newest complete
    checkpoint or `tag`; a LoRA run's adapters are merged into the weights (peft)."""
    import torch

    from model import GPTNeoX

    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise FileNotFoundError(f"{run_dir} is not a run folder (no config.yaml)")
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    ckpt_dir = Path(cfg["checkpoint"]["dir"]) if cfg["checkpoint"]["dir"] else run_dir / "checkpoints"
    good, bad = ckpt.resumable(ckpt_dir, cfg["checkpoint"]["verify"])
    if tag is None:
        if not good:
            raise FileNotFoundError(f"no complete checkpoint in {ckpt_dir}" + (
                f" ({'; '.join(f'{t}: {why}' for t, why in bad)})" if bad else ""))
        tag = good[0]
    elif tag not in good:
        raise FileNotFoundError(f"checkpoint {tag} in {ckpt_dir} is not complete (complete: {good})")
    states = torch.load(ckpt_dir / tag / MODEL_STATES, map_location="cpu", weights_only=False)
    model = GPTNeoX(run_model_config(run_dir, cfg))
    weights = _weights(ckpt_dir, tag, states)
    lora = cfg.get("sft", {}).get("lora", {})
    try:
        if lora.get("rank"):
            from train.config import LoraSection
            from train.lora import merged_from_state

            model = merged_from_state(model, LoraSection(**lora), weights)
        else:
            model.load_state_dict(weights, strict=True)
    except RuntimeError as e:  # a checkpoint of another shape than the run's model config
        raise ValueError(f"checkpoint {ckpt_dir / tag} does not fit the run's model: {str(e)[:500]}") from None
    return model, cfg, ckpt_dir / tag, states.get("step")


def export_run(run_dir: str | Path, out: str | Path | None = None, tag: str | None = None) -> Path:
    from model import export_hf

    run_dir = Path(run_dir)
    model, cfg, where, step = load_run_model(run_dir, tag)
    manifest, root = read_manifest(cfg["data"]["manifest"])
    final = Path(out) if out else run_dir / "hf"
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tok = tokenizer_dir(manifest, root)
    export_hf(model, tmp, tokenizer_dir=tok if tok and tok.is_dir() else None)
    (tmp / "codefuse_checkpoint.txt").write_text(f"{where}\nstep {step}\n")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.export", description=__doc__)
    p.add_argument("run_dir")
    p.add_argument("--tag", help="checkpoint tag (default: the newest complete one)")
    p.add_argument("--out", help="output folder (default: RUN_DIR/hf)")
    a = p.parse_args(argv)
    try:
        print(f"Hugging Face export: {export_run(a.run_dir, a.out, a.tag)}")
    except (FileNotFoundError, ValueError) as e:
        print(f"export error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
