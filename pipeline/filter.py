"""First-level filter (the paper's rules): size, line count, mean and max line length, alphanumeric share."""
from __future__ import annotations

from typing import Callable, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from pipeline import reasons
from pipeline.config import FilterConfig
from pipeline.stage import BatchStage, mark


class Rule(NamedTuple):
    reason: str
    column: str
    compare: Callable  # pyarrow.compute function: (values, limit) -> bool mask of rejected rows
    key: str           # the config key holding the limit
    symbol: str


RULES = (
    Rule(reasons.FILE_TOO_LARGE, "size_bytes", pc.greater, "max_file_bytes", ">"),
    Rule(reasons.TOO_MANY_LINES, "n_lines", pc.greater, "max_lines", ">"),
    Rule(reasons.AVG_LINE_TOO_LONG, "avg_line_len", pc.greater, "max_avg_line_len", ">"),
    Rule(reasons.MAX_LINE_TOO_LONG, "max_line_len", pc.greater, "max_line_len", ">"),
    Rule(reasons.LOW_ALNUM_FRACTION, "alnum_frac", pc.less, "min_alnum_frac", "<"),
)


class FileFilter(BatchStage):
    """Marks rows that break a rule; the first broken rule (in RULES order) is the reason."""

    name = "filter"
    reads = tuple(rule.column for rule in RULES)

    def __init__(self, cfg: FilterConfig):
        self.cfg = cfg

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        for rule in RULES:
            limit = getattr(self.cfg, rule.key)
            values = batch.column(rule.column)
            shown = pc.round(values, 3) if pa.types.is_floating(values.type) else values
            detail = pc.binary_join_element_wise(
                f"{rule.column}=", pc.cast(shown, pa.string()), f" {rule.symbol} filter.{rule.key}={limit}", "")
            batch = mark(batch, rule.compare(values, pa.scalar(limit)), rule.reason, detail)
        return batch
