"""Weight-only int4 GPTQ (W4A16) of a GPT-NeoX Hugging Face folder with llm-compressor, saved in the
compressed-tensors pack-quantized format that transformers loads."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from model.hf import SIDECAR, TOKENIZER_FILES

DTYPES = ("bfloat16", "float16", "float32")
KEEP = ["lm_head"]  # the output layer stays in full precision (embeddings are not Linear layers: never quantized)


class GPTQError(ValueError):
    """The model folder or the settings cannot be quantized."""


def check_gpt_neox(model_dir: Path) -> dict:
    """config.json of a GPT-NeoX export that is not quantized yet, or GPTQError."""
    cfg_path = model_dir / "config.json"
    if not cfg_path.is_file():
        raise GPTQError(f"{model_dir} is not a model folder (no config.json): give the trainer's HF export")
    cfg = json.loads(cfg_path.read_text())
    if cfg.get("model_type") != "gpt_neox":
        raise GPTQError(f"{model_dir} holds a {cfg.get('model_type')!r} model, not a GPT-NeoX export")
    if cfg.get("quantization_config"):
        raise GPTQError(f"{model_dir} is already quantized ({cfg['quantization_config'].get('quant_method')})")
    if not any(model_dir.glob("*.safetensors")):
        raise GPTQError(f"{model_dir} has no safetensors weights")
    return cfg


def load(model_dir: Path, dtype: str, device: str = "cpu"):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=getattr(torch, dtype))
    return model.to(device).eval()


def check_group_size(cfg: dict, group_size: int) -> None:
    """Every quantized Linear's input width (GPT-NeoX: hidden_size, and intermediate_size for dense_4h_to_h) must be
    a multiple of the group size: llm-compressor fails mid-run otherwise. Checked on config.json, before loading."""
    widths = sorted({cfg["hidden_size"], cfg["intermediate_size"]})
    bad = [w for w in widths if group_size < 1 or w % group_size]
    if bad:
        raise GPTQError(f"group size {group_size} does not divide the input width of every quantized layer "
                        f"({widths}): choose a common divisor (128 for the 13B shapes, 32 or 64 for the debug flavor)")


def recipe(group_size: int, dampening: float):
    """W4A16: symmetric int4 weights in groups of group_size input columns, static activation order; lm_head kept."""
    from llmcompressor.modifiers.quantization import GPTQModifier

    weights = {"num_bits": 4, "type": "int", "symmetric": True, "strategy": "group", "group_size": group_size}
    return GPTQModifier(config_groups={"group_0": {"targets": ["Linear"], "weights": weights}}, ignore=KEEP,
                        dampening_frac=dampening)


def quantize(model, calibration_ids, group_size: int, dampening: float = 0.01):
    """GPTQ on the model in place, calibrated on calibration_ids [N, T] (numpy int64) in the order given."""
    from datasets import Dataset
    from llmcompressor import oneshot

    rows = [r.tolist() for r in calibration_ids]
    data = Dataset.from_dict({"input_ids": rows, "attention_mask": [[1] * len(r) for r in rows]})
    oneshot(model=model, dataset=data, recipe=recipe(group_size, dampening), num_calibration_samples=len(rows),
            max_seq_length=calibration_ids.shape[1], shuffle_calibration_samples=False)
    return model


def save(model, model_dir: Path, out: Path) -> Path:
    """Write the compressed model with the input's tokenizer files and our config sidecar into out, atomically
    (a temporary sibling renamed at the end)."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp), save_compressed=True)
    for name in (*TOKENIZER_FILES, SIDECAR):
        if (model_dir / name).is_file():
            shutil.copy2(model_dir / name, tmp / name)
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out


def folder_bytes(folder: Path) -> dict:
    """Bytes of the weight files (safetensors) and of the whole folder."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return {"weights_bytes": sum(p.stat().st_size for p in files if p.suffix == ".safetensors"),
            "folder_bytes": sum(p.stat().st_size for p in files)}
