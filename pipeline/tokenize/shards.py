"""Row order and shard files: the seeded permutation of rows, the last rows from all buckets' leftovers, and
writing one shard with fixed pyarrow settings (same rows, same bytes)."""
from __future__ import annotations

import hashlib
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.tokenize.pack import PAD_TASK, ROW_COLUMNS, Packer, pad_last
from pipeline.tokenizer.sample import draw
from schemas import TOKEN_SHARD

ROW_GROUP_ROWS = 256


def permutation(n: int, seed: int) -> tuple[int, int]:
    """(a, b) of the bijection g -> (a * g + b) mod n on row numbers: a is drawn from the seed among numbers
    coprime to n, so each row gets exactly one position. Rows are already in a seeded document order within their
    bucket; the stride sends consecutive rows (the two halves of a cut document) far apart and mixes buckets."""
    if n <= 1:
        return 1, 0
    for i in range(1000):
        a = 1 + int(draw(f"perm-a:{n}:{i}", seed) * (n - 1))
        if math.gcd(a, n) == 1:
            return a, int(draw(f"perm-b:{n}", seed) * n)
    return 1, int(draw(f"perm-b:{n}", seed) * n)


def pack_tails(tails: list[tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None]], row_len: int,
               pad_id: int):
    """(rows as a ROW_COLUMNS table, pad tokens added): the buckets' leftovers (ids, mask, starts, task ids), in
    bucket order, packed into rows; the very last partial row is filled with pad ids (mask 0, task id -1), so no
    token is lost."""
    with_mask = any(m is not None for _, m, _, _ in tails)
    with_tasks = any(t is not None for _, _, _, t in tails)
    packer = Packer(row_len, with_mask, with_tasks)
    docs, masks, tasks = [], [], []
    for ids, mask, starts, task in tails:
        cuts = [int(s) for s in np.union1d(starts, [0]) if 0 <= s < len(ids)] + [len(ids)]
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            docs.append(ids[lo:hi])
            masks.append(mask[lo:hi] if mask is not None else np.ones(hi - lo, np.uint8))
            tasks.append(task[lo:hi] if task is not None else np.full(hi - lo, PAD_TASK, np.int16))
    rows = packer.add(docs, masks if with_mask else None, tasks if with_tasks else None)
    batches = [rows] if rows.num_rows else []
    ids, mask, starts, task = packer.leftover()
    n_pad = 0
    if len(ids):  # the last partial row: pad ids after the real ones, mask 0 on them (pretrain rows: mask null)
        out_ids, out_mask, out_starts, out_tasks = pad_last(ids, mask, starts, row_len, pad_id, task)
        n_pad = row_len - len(ids)
        offs = pa.array([0, row_len], pa.int32())
        batches.append(pa.RecordBatch.from_arrays([
            pa.ListArray.from_arrays(offs, pa.array(out_ids, pa.uint32())),
            pa.ListArray.from_arrays(pa.array([0, len(out_starts)], pa.int32()),
                                     pa.array(out_starts.astype(np.int32))),
            pa.ListArray.from_arrays(offs, pa.array(out_mask, pa.uint8())),
            pa.ListArray.from_arrays(offs, pa.array(out_tasks, pa.int16())) if out_tasks is not None
            else pa.nulls(1, ROW_COLUMNS.field("task_ids").type)], schema=ROW_COLUMNS))
    return pa.Table.from_batches(batches, schema=ROW_COLUMNS), n_pad


def to_shard_table(batch: pa.RecordBatch | pa.Table) -> pa.Table:
    """Rows in the contract's types (uint32 ids, uint8 mask, int16 task ids) and order of columns."""
    return pa.Table.from_arrays([batch.column(f.name).cast(f.type) for f in TOKEN_SHARD], schema=TOKEN_SHARD)


def shard_bytes(table: pa.Table, compression: str) -> bytes:
    """The Parquet file of one shard. Every writer setting is fixed here (row groups, dictionary, statistics,
    format version, no page index), so the same rows give the same bytes with this pyarrow version."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=ROW_GROUP_ROWS, compression=None if compression == "none"
                   else compression, use_dictionary=False, write_statistics=False, version="2.6",
                   data_page_version="1.0", write_page_index=False, store_schema=True)
    return sink.getvalue().to_pybytes()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def shard_name(bucket: int, index: int) -> str:
    """Bucket b's shards are shard-b-00000, -00001, ...; the rows packed from all buckets' leftovers are the bucket
    numbered pack_buckets."""
    return f"shards/shard-{bucket:04d}-{index:05d}.parquet"


def write(rows: pa.Table, out_uri: str, name: str, compression: str) -> dict:
    """One shard file under `out_uri` (any pyarrow filesystem URI; a temporary name, then renamed, so a retried
    task never leaves half a file): its manifest entry plus bytes and seconds."""
    import time

    from pyarrow import fs as pafs

    t0 = time.perf_counter()
    table = to_shard_table(rows)
    data = shard_bytes(table, compression)
    filesystem, root = pafs.FileSystem.from_uri(out_uri)
    filesystem.create_dir(f"{root}/{name.rsplit('/', 1)[0]}", recursive=True)
    tmp = f"{root}/{name}.tmp-{hashlib.sha256(data).hexdigest()[:8]}-{time.time_ns()}"
    with filesystem.open_output_stream(tmp) as f:
        f.write(data)
    filesystem.move(tmp, f"{root}/{name}")
    width = len(table.column("input_ids")[0]) if table.num_rows else 0
    return {"path": name, "rows": table.num_rows, "tokens": table.num_rows * width, "sha256": sha256(data),
            "bytes": len(data), "seconds": time.perf_counter() - t0}
