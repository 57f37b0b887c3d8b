"""Completions from any folder transformers loads: greedy, temperature + top-p sampling, or beam search, batched."""
from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from evaluation.config import EvalSettings
from evaluation.stops import truncate


def load(model_dir: str | Path, device: str = "cpu"):
    """(model, tokenizer) with left padding, so a batch's prompts all end where generation starts."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not (Path(model_dir) / "config.json").is_file():  # else transformers takes the path for a hub repo id
        raise FileNotFoundError(f"{model_dir} is not a model folder (no config.json): give the trainer's HF export, "
                                f"e.g. <run>/train/hf")
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    tok.padding_side, tok.truncation_side = "left", "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(str(model_dir)).to(device).eval()
    return model, tok


def generate_kwargs(settings: EvalSettings) -> dict:
    if settings.mode == "greedy":
        return {"do_sample": False, "num_beams": 1}
    if settings.mode == "sample":
        return {"do_sample": True, "temperature": settings.temperature, "top_p": settings.top_p, "top_k": 0,
                "num_return_sequences": settings.n}
    return {"do_sample": False, "num_beams": settings.num_beams, "num_return_sequences": settings.n,
            "early_stopping": True}


def prompt_budget(model, settings: EvalSettings) -> int | None:
    """The most prompt tokens that leave room for max_new_tokens in the model's context (None: no known limit)."""
    ctx = getattr(model.config, "max_position_embeddings", None)
    if not ctx:
        return None
    if ctx <= settings.max_new_tokens:
        raise ValueError(f"max_new_tokens={settings.max_new_tokens} leaves no room for a prompt in the model's "
                         f"context of {ctx} tokens")
    return ctx - settings.max_new_tokens


def complete(model, tok, prompts: list[str], stops: tuple[str, ...], settings: EvalSettings,
             desc: str = "generate") -> list[list[str]]:
    """settings.n completions per prompt, each cut at its first stop sequence. Generation also ends early once every
    sequence of a batch has produced a stop sequence or end-of-text. Batch b is seeded with seed + b, so a rerun with
    the same settings gives the same text. Prompts longer than the context keep their last tokens."""
    import torch
    from transformers import set_seed

    per_prompt = settings.n if settings.mode != "greedy" else 1
    step = max(1, settings.batch_size // per_prompt)
    budget = prompt_budget(model, settings)
    kwargs = generate_kwargs(settings)
    if stops:
        kwargs.update(stop_strings=list(stops), tokenizer=tok)
    out: list[list[str]] = []
    batches = range(0, len(prompts), step)
    for b, start in enumerate(tqdm(batches, desc=desc, unit="batch", disable=not settings.progress)):
        chunk = prompts[start:start + step]
        enc = tok(chunk, return_tensors="pt", padding=True, truncation=budget is not None, max_length=budget)
        enc = {k: v.to(model.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
        set_seed(settings.seed + b)
        with torch.no_grad():
            seqs = model.generate(**enc, max_new_tokens=settings.max_new_tokens, pad_token_id=tok.pad_token_id,
                                  **kwargs)
        texts = tok.batch_decode(seqs[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        for i in range(len(chunk)):
            out.append([truncate(t, stops) for t in texts[i * per_prompt:(i + 1) * per_prompt]])
    return out
