"""Executor side of ingest: listing rows in, files-table batches out (files read with caps, archives expanded)."""
from __future__ import annotations

from typing import Iterable, Iterator

import pyarrow as pa

from pipeline import reasons
from pipeline.config import IngestConfig
from pipeline.ingest.archives import read_archive
from pipeline.ingest.fsio import read_capped
from pipeline.ingest.records import RawRecord, to_files_batch


def records_from_listing(row: dict, cfg: IngestConfig) -> Iterator[RawRecord]:
    """The record(s) behind one listing row: a reject as listed, a file's bytes, or an archive's members."""
    source, repo, path = row["source"], row["repo"], row["path"]
    if row["reject_reason"] is not None:
        yield RawRecord(source, repo, path, None, row["size_bytes"], row["language"], row["reject_reason"],
                        row["reject_detail"])
        return
    if row["kind"] == "archive":
        yield from read_archive(source, path, row["uri"], cfg)
        return
    try:
        data = read_capped(row["uri"], cfg.max_read_bytes)
    except OSError as e:
        yield RawRecord(source, repo, path, None, row["size_bytes"], row["language"], reasons.READ_ERROR,
                        f"{type(e).__name__}: {e.strerror or e}")
        return
    if len(data) > cfg.max_read_bytes:  # grew after it was listed
        yield RawRecord(source, repo, path, None, row["size_bytes"], row["language"], reasons.TOO_LARGE_TO_READ,
                        f"more than ingest.max_read_bytes={cfg.max_read_bytes} bytes")
        return
    yield RawRecord(source, repo, path, data, len(data), row["language"])


def batched(records: Iterable[RawRecord], cfg: IngestConfig, max_rows: int, max_bytes: int) -> Iterator[pa.RecordBatch]:
    """Group records into files-table batches bounded by rows and bytes (keeps Arrow buffers well under 2 GB)."""
    buf: list[RawRecord] = []
    size = 0
    allowed = frozenset(cfg.languages)
    for rec in records:
        buf.append(rec)
        size += len(rec.data) if rec.data is not None else 0
        if len(buf) >= max_rows or size >= max_bytes:
            yield to_files_batch(buf, allowed)
            buf, size = [], 0
    if buf:
        yield to_files_batch(buf, allowed)


def read_listing_batches(batches: Iterable[pa.RecordBatch], cfg: IngestConfig, max_rows: int,
                         max_bytes: int) -> Iterator[pa.RecordBatch]:
    """mapInArrow body for listing partitions."""
    def records():
        for batch in batches:
            for row in batch.to_pylist():
                yield from records_from_listing(row, cfg)
    yield from batched(records(), cfg, max_rows, max_bytes)
