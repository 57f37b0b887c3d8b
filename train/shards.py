"""Write token shards + manifest outside the pipeline (tests, GPU checks): `python -m train.shards --out DIR ...`."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from schemas.tokens import MANIFEST_NAME, TOKEN_SHARD, Manifest, ShardEntry
from train.data import file_sha256


def write_shards(out: str | Path, ids: np.ndarray, vocab_size: int, doc_starts: list[list[int]] | None = None,
                 loss_mask: np.ndarray | None = None, rows_per_shard: int = 64, eos_id: int = 0, pad_id: int = 0,
                 config: dict | None = None) -> Path:
    """ids [rows, seq_len + 1] -> out/shard-NNNNN.parquet files of TOKEN_SHARD rows and out/manifest.json.
    loss_mask given = sft mode. Returns the manifest path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows, width = ids.shape
    if ids.max() >= vocab_size or ids.min() < 0:
        raise ValueError(f"token ids must lie in [0, {vocab_size})")
    starts = doc_starts or [[0]] * rows
    entries = []
    for k, first in enumerate(range(0, rows, rows_per_shard)):
        part = slice(first, min(rows, first + rows_per_shard))
        n = part.stop - part.start
        table = pa.table({
            "input_ids": pa.array([r for r in ids[part].astype(np.uint32)], type=pa.list_(pa.uint32())),
            "doc_starts": pa.array(starts[part], type=pa.list_(pa.int32())),
            "loss_mask": (pa.array([r for r in loss_mask[part].astype(np.uint8)], type=pa.list_(pa.uint8()))
                          if loss_mask is not None else pa.nulls(n, type=pa.list_(pa.uint8()))),
            "task_ids": pa.nulls(n, type=pa.list_(pa.int16())),  # one task (schemas/tokens.py: null = all one task)
        }, schema=TOKEN_SHARD)
        name = f"shard-{k:05d}.parquet"
        pq.write_table(table, out / name)
        entries.append(ShardEntry(path=name, rows=n, tokens=n * width, sha256=file_sha256(out / name)))
    manifest = Manifest(mode="sft" if loss_mask is not None else "pretrain", seq_len=width - 1,
                        vocab_size=vocab_size, eos_id=eos_id, pad_id=pad_id, tokenizer_sha256="", tokenizer_dir="",
                        shards=tuple(entries), config=config or {"writer": "train.shards"})
    (out / MANIFEST_NAME).write_text(manifest.to_json())
    return out / MANIFEST_NAME


def random_shards(out: str | Path, rows: int, seq_len: int, vocab_size: int, seed: int = 0,
                  rows_per_shard: int = 64) -> Path:
    """Uniform random token ids (for speed checks: the loss stays near ln(vocab))."""
    ids = np.random.default_rng(seed).integers(0, vocab_size, size=(rows, seq_len + 1), dtype=np.int64)
    return write_shards(out, ids, vocab_size, rows_per_shard=rows_per_shard, config={"writer": "random_shards"})


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Write random-token shards and a manifest (for GPU speed checks).")
    p.add_argument("--out", required=True)
    p.add_argument("--rows", type=int, default=256)
    p.add_argument("--seq-len", type=int, default=4096)
    p.add_argument("--vocab", type=int, default=100_864)
    p.add_argument("--rows-per-shard", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    print(random_shards(a.out, a.rows, a.seq_len, a.vocab, a.seed, a.rows_per_shard))


if __name__ == "__main__":
    main()
