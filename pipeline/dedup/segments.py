"""Segment-level dedup: functions and classes (tree-sitter), normalised and hashed, counted across files."""
from __future__ import annotations

import bisect
import functools
import hashlib

import pyarrow as pa

from pipeline.quality.analyze import ParseBudgetExceeded, captures, last_row, parse
from pipeline.quality.specs import SPECS

SEGMENTS = pa.schema([("id", pa.string()), ("language", pa.string()), ("seg_hash", pa.int64()),
                      ("start_line", pa.int32()), ("end_line", pa.int32()), ("code_lines", pa.int32()),
                      ("seg_code_lines", pa.list_(pa.int32()))])  # the segment's non-blank lines


def normalise(text: str, comments: list[tuple[int, int]], start: int) -> str:
    """A segment's text without its comments and without any whitespace (byte offsets relative to `start`)."""
    raw = text.encode("utf-8")
    kept, pos = [], 0
    for c_start, c_end in sorted(comments):
        kept.append(raw[pos:c_start - start])
        pos = c_end - start
    kept.append(raw[pos:])
    return "".join(b"".join(kept).decode("utf-8", "replace").split())  # str.split() drops what \s matches


def segments(text: str, language: str, min_lines: int, budget_ms: float) -> list[tuple[int, int, int]]:
    """(hash, first line, last line) of every function or class of at least min_lines lines."""
    spec = SPECS.get(language)
    if spec is None:
        return []
    source = text.encode("utf-8")
    root = parse(source, spec.grammar, budget_ms).root_node
    return segments_of_tree(root, captures(root, language), source, language, min_lines)


def segments_of_tree(root, caps: dict, source: bytes, language: str, min_lines: int) -> list[tuple[int, int, int]]:
    """segments() from a parsed tree and its metrics-query captures (`language`: the SPECS key of its grammar)."""
    nodes = list(caps.get("fn", [])) + list(caps.get("class", []))  # the metrics query captures classes too
    comments = sorted((c.start_byte, c.end_byte) for c in caps.get("comment", []))
    out = []
    for node in nodes:
        first, last = node.start_point[0], last_row(node)
        if last - first + 1 < min_lines:
            continue
        inner = []
        for a, b in comments[bisect.bisect_left(comments, (node.start_byte,)):]:
            if a >= node.end_byte:
                break
            if b <= node.end_byte:
                inner.append((a, b))
        body = normalise(source[node.start_byte:node.end_byte].decode("utf-8", "replace"), inner, node.start_byte)
        digest = int.from_bytes(hashlib.blake2b(body.encode("utf-8"), digest_size=8).digest(), "big", signed=True)
        out.append((digest, first + 1, last + 1))
    return out


def segment_batches(batches, min_lines: int, budget_ms: float):
    """mapInArrow body: (id, language, content, and the quality parse's facts and grammar where the table has them)
    in; one row per segment out, with the file's code lines."""
    from pipeline.quality.facts import row_segments

    for batch in batches:
        rows = []
        for rec in batch.to_pylist():
            if rec["content"] is None:
                continue
            try:
                found = row_segments(rec, min_lines, budget_ms)
            except ParseBudgetExceeded:
                continue  # quality already rejects files over the budget; nothing to count
            nonblank = [i + 1 for i, line in enumerate(rec["content"].split("\n")) if line.strip()]
            rows += [{"id": rec["id"], "language": rec["language"], "seg_hash": h, "start_line": a, "end_line": b,
                      "code_lines": len(nonblank),
                      "seg_code_lines": nonblank[bisect.bisect_left(nonblank, a):bisect.bisect_right(nonblank, b)]}
                     for h, a, b in found]
        yield pa.RecordBatch.from_pylist(rows, schema=SEGMENTS)


def duplicated_share(df, min_lines: int, budget_ms: float):
    """(per-file frame: id, dup_lines, code_lines, first_copy; per-language segment frame) on Spark.

    A segment is a duplicate in every file but the first (smallest id) that holds it; a file's duplicated lines
    are the union of the code (non-blank) lines of its duplicate segments, so they never exceed its code lines."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from schemas.spark import spark_schema

    body = functools.partial(segment_batches, min_lines=min_lines, budget_ms=budget_ms)
    facts = [c for c in ("content_sha256", "facts_sha256", "segment_facts", "quality_grammar") if c in df.columns]
    segs = df.select("id", "language", "content", *facts).mapInArrow(body, spark_schema(SEGMENTS))
    w = Window.partitionBy("seg_hash")
    # checkpointed here, before both results derive from it: otherwise each of them re-runs the parse
    segs = (segs.withColumn("first_copy", F.min("id").over(w)).withColumn("dup", F.col("id") != F.col("first_copy"))
            .localCheckpoint())
    lines = (segs.where("dup").select("id", "code_lines", "first_copy",
                                      F.explode("seg_code_lines").alias("line"))
             .groupBy("id").agg(F.countDistinct("line").alias("dup_lines"), F.first("code_lines").alias("code_lines"),
                                F.min("first_copy").alias("first_copy")))
    return lines, segs
