"""The decontamination stage: rejects files that hold a benchmark item (HumanEval and extra JSONL sets)."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from pipeline import reasons
from pipeline.config import DecontamConfig
from pipeline.decontam.matcher import Contamination, matcher
from pipeline.stage import REASON, BatchStage, ensure_reject_columns, mark


def describe(found: Contamination) -> str:
    if found.kind == "substring":
        return f"{found.task_id}: verbatim substring"
    if found.kind == "test":
        return f"{found.task_id}: benchmark tests, n-gram overlap {found.score:.2f}"
    return f"{found.task_id}: n-gram overlap {found.score:.2f}"


class Decontaminator(BatchStage):
    """Adds no columns; the detail names the benchmark task, how it was found and the score."""

    name = "decontam"
    reads = ("content",)

    def __init__(self, cfg: DecontamConfig):
        self.cfg = cfg
        matcher(cfg)  # a missing package or a bad extra file fails here, on the driver, before any job

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        batch = ensure_reject_columns(batch)
        content = batch.column("content")
        # rows rejected upstream are left alone: null to the batch screen, which finds nothing in them
        screened = matcher(self.cfg).may_hold(
            pc.if_else(batch.column(REASON).is_valid(), pa.scalar(None, content.type), content))
        find = matcher(self.cfg).contamination
        mask, details = [False] * batch.num_rows, [None] * batch.num_rows
        for i in (i for i, hit in enumerate(screened) if hit):
            found = find(content[i].as_py())
            if found:
                mask[i], details[i] = True, describe(found)
        if any(mask):
            batch = mark(batch, pa.array(mask, pa.bool_()), reasons.BENCHMARK_CONTAMINATION,
                         pa.array(details, pa.string()))
        return batch
