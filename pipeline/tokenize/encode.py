"""The pack pass over one task's documents (sorted by bucket, then seeded key): encode, FIM, pack per bucket."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline import reasons
from pipeline.tokenize import fim as fim_mod
from pipeline.tokenize.pack import Packer
from pipeline.tokenize.sft import encode_conversation
from pipeline.tokenizer import fast
from pipeline.tokenizer.special import EOT, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX

BUCKET, KEY = "_bucket", "_key"
ROW, TAIL, STATS = "row", "tail", "stats"
# What the pack pass emits: Spark has no unsigned types, so ids travel as int32 (every id < 2**31) until the
# shard writer casts them to the contract's uint32.
STAGED = pa.schema([pa.field("bucket", pa.int32()), pa.field("seq", pa.int64()), pa.field("kind", pa.string()),
                    pa.field("input_ids", pa.list_(pa.int32())), pa.field("doc_starts", pa.list_(pa.int32())),
                    pa.field("loss_mask", pa.list_(pa.int8())), pa.field("info", pa.string())])


def new_stats() -> dict:
    return {"documents": 0, "packed_documents": 0, "bytes": 0, "tokens": 0, "rows": 0, "fim_psm": 0, "fim_spm": 0,
            "rejected_by_reason": {}}


class DocEncoder:
    """One document (pretrain) or conversation (sft) to (ids, mask or None), or (reason, detail)."""

    def __init__(self, tokenizer_dir: str, tokenizer_sha256: str, mode: str, fim_rate: float, fim_spm_share: float,
                 seed: int):
        self.enc = fast.load(tokenizer_dir, tokenizer_sha256)
        self.mode, self.fim_rate, self.fim_spm_share, self.seed = mode, fim_rate, fim_spm_share, seed
        s = self.enc.special
        self.eot = np.array([s[EOT]], np.uint32)
        self.fim_ids = (s[FIM_PREFIX], s[FIM_MIDDLE], s[FIM_SUFFIX])

    def pretrain(self, doc_id: str, text: str | None, stats: dict):
        if text is None:
            return reasons.NULL_CONTENT, "content is null"
        if not text:
            return reasons.EMPTY_DOCUMENT, "content is empty"
        f = fim_mod.split(text, doc_id, self.seed, self.fim_rate, self.fim_spm_share)
        if f is None:
            return np.concatenate([self.enc.encode(text), self.eot]), None
        stats["fim_" + f.order] += 1
        parts = fim_mod.layout(f, *self.fim_ids, encode=self.enc.encode)
        return np.concatenate([np.asarray(p, np.uint32) for p in parts] + [self.eot]), None

    def sft(self, doc_id: str, messages, stats: dict):
        return encode_conversation(messages, self.enc.encode, self.enc.special)


def _staged(rows: pa.RecordBatch, bucket: int, seq: int, kind: str, info: str | None = None) -> pa.RecordBatch:
    n = rows.num_rows
    ids = rows.column("input_ids")
    mask = rows.column("loss_mask")
    return pa.RecordBatch.from_arrays([
        pa.array(np.full(n, bucket, np.int32)), pa.array(np.arange(seq, seq + n, dtype=np.int64)),
        pa.array([kind] * n, pa.string()), ids.cast(pa.list_(pa.int32())), rows.column("doc_starts"),
        mask.cast(pa.list_(pa.int8())), pa.array([info] * n, pa.string())], schema=STAGED)


def _stats_row(bucket: int, stats: dict) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([{"bucket": bucket, "seq": -1, "kind": STATS, "info": json.dumps(stats)}],
                                      schema=STAGED)


def _finish(packer: Packer, bucket: int, seq: int, stats: dict):
    ids, mask, starts = packer.leftover()
    stats["rows"] = seq
    stats["tail_tokens"] = int(len(ids))
    if len(ids):
        row = {"bucket": bucket, "seq": -1, "kind": TAIL, "input_ids": ids.view(np.int32).tolist(),
               "doc_starts": np.union1d(starts, [0]).astype(np.int32).tolist(),
               "loss_mask": None if mask is None else mask.view(np.int8).tolist(), "info": None}
        yield pa.RecordBatch.from_pylist([row], schema=STAGED)
    yield _stats_row(bucket, stats)


def pack_partition(batches, tokenizer_dir: str, tokenizer_sha256: str, mode: str, row_len: int, fim_rate: float,
                   fim_spm_share: float, seed: int):
    """mapInArrow body. Input rows: _bucket, id and content (pretrain) or messages (sft), sorted by (_bucket, _key,
    id). Output (STAGED): full rows numbered per bucket, then per bucket one tail (the ids left over, fewer than a
    row) and one stats record. Documents that give no tokens are counted by reason, never silently dropped."""
    encoder = DocEncoder(tokenizer_dir, tokenizer_sha256, mode, fim_rate, fim_spm_share, seed)
    payload = "content" if mode == "pretrain" else "messages"
    one = encoder.pretrain if mode == "pretrain" else encoder.sft
    packer, bucket, seq, stats = None, None, 0, new_stats()
    for batch in batches:
        if batch.num_rows == 0:
            continue
        buckets = batch.column(BUCKET).to_numpy(zero_copy_only=False)
        ids_col = batch.column("id").to_pylist()
        values = batch.column(payload).to_pylist()
        sizes = (pc.fill_null(pc.binary_length(batch.column("content")), 0).to_numpy() if mode == "pretrain"
                 else np.zeros(batch.num_rows, np.int64))
        edges = [0, *(np.flatnonzero(np.diff(buckets)) + 1).tolist(), batch.num_rows]
        for lo, hi in zip(edges[:-1], edges[1:]):
            b = int(buckets[lo])
            if b != bucket:
                if packer is not None:
                    yield from _finish(packer, bucket, seq, stats)
                packer, bucket, seq, stats = Packer(row_len, mode == "sft"), b, 0, new_stats()
            docs, masks = [], []
            for i in range(lo, hi):
                stats["documents"] += 1
                out = one(ids_col[i], values[i], stats)
                if isinstance(out[0], str):
                    by = stats["rejected_by_reason"]
                    by[out[0]] = by.get(out[0], 0) + 1
                    continue
                docs.append(out[0])
                masks.append(out[1])
                stats["packed_documents"] += 1
                stats["bytes"] += int(sizes[i])
                stats["tokens"] += len(out[0])
            rows = packer.add(docs, masks if mode == "sft" else None)
            if rows.num_rows:
                yield _staged(rows, b, seq, ROW)
                seq += rows.num_rows
    if packer is not None:
        yield from _finish(packer, bucket, seq, stats)
