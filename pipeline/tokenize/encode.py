"""The one pass over a Spark task's documents (sorted by bucket, then seeded key): encode, FIM, pack, permute and
write each bucket's shards; the bucket's leftover ids and its counts go back to the driver. In sft mode each
document is a conversation of one training task, and its tokens carry that task's id."""
from __future__ import annotations

import functools
import json
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline import reasons
from pipeline.tokenize import fim as fim_mod
from pipeline.tokenize import shards
from pipeline.tokenize.pack import Packer
from pipeline.tokenize.sft import encode_conversation
from pipeline.tokenizer import fast
from pipeline.tokenizer.special import EOT, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX

BUCKET, KEY = "_bucket", "_key"
SHARD, TAIL, STATS = "shard", "tail", "stats"
# What a Spark task sends back to the driver (small): per bucket its written shards, its leftover ids (fewer than a
# row; raw little-endian uint32 / int64 / uint8 / int16 bytes, as Spark has no unsigned types) and its counts.
REPORT = pa.schema([pa.field("bucket", pa.int32()), pa.field("kind", pa.string()), pa.field("info", pa.string()),
                    pa.field("ids", pa.binary()), pa.field("starts", pa.binary()), pa.field("mask", pa.binary()),
                    pa.field("tasks", pa.binary())])


def new_stats() -> dict:
    return {"documents": 0, "packed_documents": 0, "bytes": 0, "tokens": 0, "rows": 0, "fim_psm": 0, "fim_spm": 0,
            "rejected_by_reason": {}, "by_task": {}, "seconds": {"encode": 0.0, "pack": 0.0, "write": 0.0}}


def _task_stats(stats: dict, task_id: int) -> dict:
    """sft mode: one task's counts in a bucket (keys are task ids as strings: the stats travel as JSON)."""
    return stats["by_task"].setdefault(str(task_id), {"documents": 0, "packed_documents": 0, "tokens": 0,
                                                      "loss_tokens": 0, "rejected_by_reason": {}})


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
        """(ids, mask) of a conversation (held-out samples never reach here: the sft input leaves them out)."""
        return encode_conversation(messages, self.enc.encode, self.enc.special)


def _report(bucket: int, kind: str, info: dict | None = None, ids=None, starts=None, mask=None,
            tasks=None) -> pa.RecordBatch:
    raw = lambda a: None if a is None else np.ascontiguousarray(a).tobytes()  # noqa: E731
    return pa.RecordBatch.from_pylist([{"bucket": bucket, "kind": kind, "info": json.dumps(info) if info else None,
                                        "ids": raw(ids), "starts": raw(starts), "mask": raw(mask),
                                        "tasks": raw(tasks)}], schema=REPORT)


def write_bucket(rows: list[pa.RecordBatch], bucket: int, seed: int, shard_rows: int, out_uri: str,
                 compression: str) -> list[dict]:
    """A bucket's full rows, permuted by the seeded bijection, written as shards of `shard_rows` rows (the last
    one holds the rest) under `out_uri`; returns their manifest entries (with bytes and seconds)."""
    if not rows:
        return []
    table = pa.Table.from_batches(rows).combine_chunks()
    n = table.num_rows
    a, b = shards.permutation(n, seed * 1_000_003 + bucket)
    order = np.empty(n, np.int64)
    order[(a * np.arange(n, dtype=np.int64) + b) % n] = np.arange(n)  # row g goes to position (a*g + b) mod n
    table = table.take(pa.array(order))
    out = []
    for index, lo in enumerate(range(0, n, shard_rows)):
        out.append(shards.write(table.slice(lo, shard_rows), out_uri, shards.shard_name(bucket, index), compression))
    return out


def _finish(packer: Packer, rows: list, bucket: int, stats: dict, seed: int, shard_rows: int, out_uri: str,
            compression: str):
    t0 = time.perf_counter()
    written = write_bucket(rows, bucket, seed, shard_rows, out_uri, compression)
    stats["seconds"]["write"] += time.perf_counter() - t0
    for entry in written:
        stats["rows"] += entry["rows"]
        yield _report(bucket, SHARD, entry)
    ids, mask, starts, tasks = packer.leftover()
    stats["tail_tokens"] = int(len(ids))
    if len(ids):
        yield _report(bucket, TAIL, ids=ids.astype(np.uint32), starts=np.union1d(starts, [0]).astype(np.int64),
                      mask=mask, tasks=tasks)
    yield _report(bucket, STATS, stats)


def pack_partition(batches, tokenizer_dir: str, tokenizer_sha256: str, mode: str, row_len: int, fim_rate: float,
                   fim_spm_share: float, seed: int, shard_rows: int, out_uri: str, compression: str):
    """mapInArrow body. Input rows: _bucket, id and content (pretrain) or messages and task_id (sft), sorted by
    (_bucket, _key, id). Each bucket's documents are packed in that order; its full rows are permuted and written
    as shards; the ids left over, the shard entries and the counts (sft: per task too) come back as REPORT
    records. Documents that give no tokens are counted by reason, never silently dropped."""
    t_start = time.perf_counter()
    encoder = DocEncoder(tokenizer_dir, tokenizer_sha256, mode, fim_rate, fim_spm_share, seed)
    sft = mode == "sft"
    payload = "content" if mode == "pretrain" else "messages"
    one = encoder.pretrain if mode == "pretrain" else encoder.sft
    packer, rows, bucket, stats = None, [], None, new_stats()
    load = time.perf_counter() - t_start  # the encoder, once per worker process (then cached)
    waited = 0.0
    finish = functools.partial(_finish, seed=seed, shard_rows=shard_rows, out_uri=out_uri, compression=compression)
    t_wait = time.perf_counter()
    for batch in batches:
        waited += time.perf_counter() - t_wait
        if batch.num_rows == 0:
            continue
        buckets = batch.column(BUCKET).to_numpy(zero_copy_only=False)
        ids_col = batch.column("id").to_pylist()
        values = batch.column(payload).to_pylist()
        task_col = batch.column("task_id").to_pylist() if sft else None
        sizes = (pc.fill_null(pc.binary_length(batch.column("content")), 0).to_numpy() if mode == "pretrain"
                 else np.zeros(batch.num_rows, np.int64))
        edges = [0, *(np.flatnonzero(np.diff(buckets)) + 1).tolist(), batch.num_rows]
        for lo, hi in zip(edges[:-1], edges[1:]):
            b = int(buckets[lo])
            if b != bucket:
                if packer is not None:
                    yield from finish(packer, rows, bucket, stats)
                packer, rows, bucket, stats = Packer(row_len, sft, sft), [], b, new_stats()
                stats["seconds"]["load"], load = load, 0.0
            stats["seconds"]["wait"] = stats["seconds"].get("wait", 0.0) + waited
            waited = 0.0
            docs, masks, tasks = [], [], []
            t0 = time.perf_counter()
            for i in range(lo, hi):
                stats["documents"] += 1
                out = one(ids_col[i], values[i], stats)
                per_task = _task_stats(stats, task_col[i]) if sft else None
                if per_task is not None:
                    per_task["documents"] += 1
                if isinstance(out[0], str):
                    for by in (stats["rejected_by_reason"], per_task and per_task["rejected_by_reason"]):
                        if by is not None:
                            by[out[0]] = by.get(out[0], 0) + 1
                    continue
                docs.append(out[0])
                masks.append(out[1])
                stats["packed_documents"] += 1
                stats["bytes"] += int(sizes[i])
                stats["tokens"] += len(out[0])
                if sft:
                    tasks.append(np.full(len(out[0]), task_col[i], np.int16))
                    per_task["packed_documents"] += 1
                    per_task["tokens"] += len(out[0])
                    per_task["loss_tokens"] += int(out[1].sum())
            t1 = time.perf_counter()
            full = packer.add(docs, masks if sft else None, tasks if sft else None)
            stats["seconds"]["encode"] += t1 - t0
            stats["seconds"]["pack"] += time.perf_counter() - t1
            if full.num_rows:
                rows.append(full)
        t_wait = time.perf_counter()
    if packer is not None:
        stats["seconds"]["task"] = time.perf_counter() - t_start  # the whole task, in its last bucket's counts
        yield from finish(packer, rows, bucket, stats)
