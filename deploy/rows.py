"""Held-out token rows for quantization: which manifest rows calibrate GPTQ and which measure perplexity (a fixed rule),
and the check that the manifest's vocabulary and tokenizer are the model's."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.hf import SIDECAR
from schemas.tokens import Manifest
from train.data import Batch, TokenStream, file_sha256, read_manifest


class RowsError(ValueError):
    """The manifest cannot give the rows asked for, or does not belong to the model."""


@dataclass(frozen=True)
class HeldOut:
    calibration: Batch      # inputs [n_calib, T]: what GPTQ sees
    evaluation: Batch       # inputs, targets, loss_mask [n_eval, T]: what perplexity is measured on
    vocab_size: int         # the manifest's (unpadded) vocabulary
    rule: str               # the selection rule in words, for the report
    calibration_rows: list[tuple[str, int]]  # (shard path, row) of each calibration row
    evaluation_rows: list[tuple[str, int]]


def model_vocab(model_dir: Path) -> tuple[int, bool]:
    """(vocabulary size, exact): the export's unpadded size from our sidecar (exact), else config.json's (padded, an
    upper bound)."""
    sidecar = model_dir / SIDECAR
    if sidecar.is_file():
        return int(json.loads(sidecar.read_text())["vocab_size"]), True
    return int(json.loads((model_dir / "config.json").read_text())["vocab_size"]), False


def check_matches(manifest: Manifest, model_dir: Path) -> None:
    vocab, exact = model_vocab(model_dir)
    if (exact and manifest.vocab_size != vocab) or manifest.vocab_size > vocab:
        raise RowsError(f"manifest vocab_size {manifest.vocab_size} does not match the model's {vocab}: "
                        "give token rows made with the model's tokenizer")
    tok = model_dir / "tokenizer.json"
    if manifest.tokenizer_sha256 and tok.is_file() and file_sha256(tok) != manifest.tokenizer_sha256:
        raise RowsError(f"manifest's tokenizer_sha256 differs from {tok}: the rows were tokenized with another "
                        "tokenizer")


def choose(manifest: Manifest, n_calib: int, n_eval: int, seed: int) -> tuple[list[int], list[int]]:
    """Global row numbers (manifest order: shard by shard) of the calibration and perplexity rows.

    Each row gets a key drawn from a generator seeded by (seed, its shard's sha256), so a row's key depends on its
    shard's content, not on where the shard sits in the manifest; rows are ranked by key, the first n_calib
    calibrate and the next n_eval are scored: disjoint sets. Memory stays at n_calib + n_eval keys per shard."""
    want = n_calib + n_eval
    total = manifest.total_rows
    if n_calib < 1 or total == 0:
        raise RowsError(f"no calibration rows: the manifest holds {total} rows and {n_calib} were asked for")
    if n_eval < 1:
        raise RowsError(f"perplexity needs at least one row (eval rows {n_eval})")
    if total < want:
        raise RowsError(f"the manifest holds {total} rows, fewer than {n_calib} calibration + {n_eval} perplexity "
                        "rows: lower --calib-rows / --eval-rows")
    keys, rows = [], []
    offset = 0
    for shard in manifest.shards:
        k = np.random.default_rng([seed, int(shard.sha256[:16] or "0", 16)]).random(shard.rows)
        best = np.argsort(k, kind="stable")[:want]
        keys.append(k[best])
        rows.append(best + offset)
        offset += shard.rows
    all_keys, all_rows = np.concatenate(keys), np.concatenate(rows)
    ranked = all_rows[np.lexsort((all_rows, all_keys))][:want]
    return sorted(int(r) for r in ranked[:n_calib]), sorted(int(r) for r in ranked[n_calib:])


def held_out_rows(manifest_path: str | Path, model_dir: Path, n_calib: int, n_eval: int, seed: int,
                  max_len: int | None) -> HeldOut:
    """The calibration and perplexity rows of the manifest (a file or its folder), cut to max_len inputs."""
    manifest, root = read_manifest(manifest_path)
    check_matches(manifest, model_dir)
    calib, evals = choose(manifest, n_calib, n_eval, seed)
    stream = TokenStream(manifest, root, seed=0, shuffle=False)  # unshuffled: sample p is global row p

    def gather(rows: list[int]) -> Batch:
        b = stream.gather(rows)
        if max_len is not None and b.input_ids.shape[1] > max_len:
            b = Batch(b.input_ids[:, :max_len], b.targets[:, :max_len],
                      None if b.loss_mask is None else b.loss_mask[:, :max_len], b.doc_starts)
        return b

    def where(rows: list[int]) -> list[tuple[str, int]]:
        located = [stream.locate(r) for r in rows]
        return [(manifest.shards[s].path, row) for s, row in located]

    rule = (f"rows ranked by a key drawn from numpy default_rng([{seed}, first 16 hex digits of the shard's "
            f"sha256 as an integer]); the first {n_calib} calibrate, the next {n_eval} measure perplexity")
    return HeldOut(gather(calib), gather(evals), manifest.vocab_size, rule, where(calib), where(evals))
