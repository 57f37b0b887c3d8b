"""The baseline for bench/ingest_filter.py: the same ingest + filter rules as plain Python in 2 processes, no Spark."""
from __future__ import annotations

import os
import zlib
from multiprocessing import Pool
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config import PipelineConfig
from pipeline.filter import FileFilter
from pipeline.ingest.read import read_listing_batches
from pipeline.ingest.walk import WalkTask, walk_local
from pipeline.stage import split
from schemas import LISTING


def _work(args) -> tuple[int, int, int]:
    """One process: read and decode its share of the listing, filter, write both stages' Parquet."""
    index, rows, cfg, out = args
    ingest_parts, filter_parts = [], []
    listing = pa.RecordBatch.from_pylist(rows, schema=LISTING)
    for batch in read_listing_batches([listing], cfg.ingest, cfg.spark.arrow_batch_rows, cfg.spark.arrow_batch_bytes):
        ingest_parts.append(batch)
        kept, _ = split(batch)
        filter_parts.append(FileFilter(cfg.filter).apply(kept))
    n_in, n_kept_ingest, n_kept = 0, 0, 0
    for stage, parts in (("ingest", ingest_parts), ("filter", filter_parts)):
        table = pa.Table.from_batches(parts)
        kept, rejected = split(table.combine_chunks().to_batches()[0]) if table.num_rows else (table, table)
        for status, t in (("kept", kept), ("rejected", rejected)):
            folder = Path(out) / stage / f"status={status}"
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_batches([t]) if isinstance(t, pa.RecordBatch) else t,
                           folder / f"part-{index:05d}.parquet", compression="snappy")
        if stage == "ingest":
            n_in, n_kept_ingest = table.num_rows, kept.num_rows
        else:
            n_kept = kept.num_rows
    return n_in, n_kept_ingest, n_kept


def listing(roots: dict[str, str], cfg: PipelineConfig) -> list[dict]:
    """Every entry under the named roots, walked as ingest walks (no links followed, VCS folders skipped)."""
    rows = []
    for source, root in roots.items():
        with os.scandir(root) as it:
            tops = sorted(e.name for e in it if e.is_dir(follow_symlinks=False) and e.name not in cfg.ingest.skip_dirs)
        for task in [WalkTask(source, root, "", False)] + [WalkTask(source, root, d, True) for d in tops]:
            rows.extend(walk_local(task, cfg.ingest))
    return rows


def run_plain(roots: dict[str, str], out: str, cfg: PipelineConfig, processes: int = 2) -> dict:
    """List the roots in this process, split the listing by path hash, read/decode/filter/write in a Pool."""
    rows = listing(roots, cfg)
    shares = [[] for _ in range(processes)]
    for row in rows:
        shares[zlib.crc32(row["path"].encode("utf-8", "replace")) % processes].append(row)
    with Pool(processes) as pool:
        counts = pool.map(_work, [(i, share, cfg, out) for i, share in enumerate(shares)])
    return {"rows_in": sum(c[0] for c in counts), "ingest_kept": sum(c[1] for c in counts),
            "filter_kept": sum(c[2] for c in counts)}
