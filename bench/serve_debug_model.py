"""A servable debug-flavor folder: a small ChatML tokenizer trained on stdlib code, a randomly initialised model,
both written by the project's own code (pipeline.tokenizer.save, model.export_hf). Used by the serving tests and
bench/serve_throughput.py."""
from __future__ import annotations

import sysconfig
from pathlib import Path

VOCAB = 3000
SAMPLE = 0.04  # of the stdlib's .py files (about 1.5 MB): a tokenizer in a few seconds


def train_tokenizer(out: str | Path) -> Path:
    """Our byte-level BPE (special tokens, ChatML template) trained on a hash-chosen sample of the stdlib."""
    from pipeline.tokenizer.sample import folder_files, in_sample, read_text
    from pipeline.tokenizer.save import save
    from pipeline.tokenizer.train import train

    stdlib = sysconfig.get_paths()["stdlib"]
    records = [(k, t) for k, p in folder_files(stdlib) if p.suffix == ".py" and not k.startswith("site-packages")
               and in_sample(k, 1, SAMPLE) and (t := read_text(p))]
    tok, stats = train(records, VOCAB)
    save(tok, str(out), stats, model_max_length=256)
    return Path(out)


def export_debug_model(out: str | Path, tokenizer_dir: str | Path, seed: int = 0) -> Path:
    """The debug flavor (2 layers, hidden 64, context 256) at its random init under seed, exported with the
    tokenizer: what `python -m deploy serve --model` takes."""
    import torch
    from transformers import AutoTokenizer

    from model import FLAVORS, GPTNeoX, export_hf

    vocab = len(AutoTokenizer.from_pretrained(str(tokenizer_dir)))
    torch.manual_seed(seed)
    model = GPTNeoX(FLAVORS["debug"].with_vocab(vocab)).eval()
    return export_hf(model, out, tokenizer_dir=tokenizer_dir)
