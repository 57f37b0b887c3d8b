"""A debug-flavor GPT-NeoX trained a few seconds on stdlib code with a small BPE, its HF export, and a manifest of
held-out rows (other stdlib files) tokenized with the same tokenizer: the quantization tests' inputs."""
from __future__ import annotations

import dataclasses
import sysconfig
from pathlib import Path

import numpy as np

from schemas.tokens import Manifest
from train.data import file_sha256
from train.shards import write_shards

STDLIB = Path(sysconfig.get_paths()["stdlib"])
TRAIN_FILES = ("textwrap.py", "shlex.py", "fnmatch.py", "bisect.py", "heapq.py", "string.py")  # the BPE saw the first 4
HELD_OUT_FILES = ("glob.py", "keyword.py", "operator.py", "colorsys.py", "queue.py")
SEQ_LEN = 64


def token_rows(tok, files, seq_len: int = SEQ_LEN) -> np.ndarray:
    """The files' token ids, each file followed by end-of-text, cut into rows of seq_len + 1: [rows, seq_len + 1]."""
    stream: list[int] = []
    for name in files:
        stream += tok((STDLIB / name).read_text()).input_ids + [tok.eos_token_id]
    rows = len(stream) // (seq_len + 1)
    return np.array(stream[: rows * (seq_len + 1)], dtype=np.int64).reshape(rows, seq_len + 1)


def train_a_little(model, rows: np.ndarray, steps: int, batch: int = 8, lr: float = 3e-3, seed: int = 0) -> list:
    """AdamW on random batches of rows with the model's own loss; returns the losses."""
    import torch

    gen = np.random.default_rng(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in range(steps):
        ids = torch.from_numpy(rows[gen.integers(0, len(rows), batch)])
        loss = model.loss(ids[:, :-1], ids[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def build(tmp: Path, steps: int = 150) -> dict:
    """{hf, manifest, tokenizer, losses}: the trained export and the held-out manifest (tokenizer checksum set)."""
    import torch
    from transformers import AutoTokenizer

    from model import FLAVORS, GPTNeoX, export_hf
    from tests.evaluation.tiny_model import train_tokenizer

    tok_dir = train_tokenizer(tmp / "tokenizer")
    tok = AutoTokenizer.from_pretrained(tok_dir)
    torch.manual_seed(0)
    model = GPTNeoX(FLAVORS["debug"].replace(vocab_size=len(tok)))
    losses = train_a_little(model, token_rows(tok, TRAIN_FILES), steps)
    hf = export_hf(model.eval(), tmp / "hf", tokenizer_dir=tok_dir)
    path = write_shards(tmp / "held-out", token_rows(tok, HELD_OUT_FILES), len(tok), rows_per_shard=16,
                        eos_id=tok.eos_token_id, pad_id=tok.eos_token_id)
    manifest = Manifest.from_json(path.read_text())
    manifest = dataclasses.replace(manifest, tokenizer_sha256=file_sha256(tok_dir / "tokenizer.json"),
                                   tokenizer_dir=str(tok_dir))
    path.write_text(manifest.to_json())
    return {"hf": hf, "manifest": path, "tokenizer": tok_dir, "losses": losses, "vocab": len(tok)}
