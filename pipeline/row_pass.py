"""Row-local stages in one pass over each batch: each stage sees the rows the ones before it kept, and every row
leaves tagged with the stage that rejected it (or none), so one write holds every stage's rejects and the last kept."""
from __future__ import annotations

import copy

import pyarrow as pa

from pipeline.stage import BatchStage, ensure_reject_columns, split

# the stage that rejected the row, or KEPT_BY_ALL; written as a partition column, so no leading "_" (Hadoop would
# take left_at=... folders for hidden ones)
LEFT_AT = "left_at_stage"
KEPT_BY_ALL = "kept"


class RowPass(BatchStage):
    """`stages` (BatchStage objects, pipeline order) applied in turn to one batch; the output has the last stage's
    columns (a column a later stage adds is null on rows an earlier one rejected) and LEFT_AT."""

    def __init__(self, stages: list[BatchStage]):
        if not stages:
            raise ValueError("a row pass needs at least one stage")
        self.stages = [copy.copy(stage) for stage in stages]  # linked below: the callers' objects stay as they were
        for before, after in zip(self.stages, self.stages[1:]):
            # quality then privacy: quality takes a kept file's facts of the content privacy will write, from the
            # tree it holds (QualityScorer.rewrite), and privacy uses the replacements it worked out then
            if hasattr(before, "rewrite") and hasattr(after, "rewrite_ahead"):
                before.rewrite = after.rewrite_ahead
        self.name = "..".join((self.stages[0].name, self.stages[-1].name)) if len(stages) > 1 else stages[0].name

    def schemas(self, input_schema: pa.Schema) -> list[pa.Schema]:
        """Each stage's output schema, in order, from the pass's input schema."""
        out, schema = [], input_schema
        for stage in self.stages:
            schema = stage.output_schema(schema)
            out.append(schema)
        return out

    def output_schema(self, input_schema: pa.Schema) -> pa.Schema:
        return pa.schema(list(self.schemas(input_schema)[-1]) + [pa.field(LEFT_AT, pa.string(), nullable=False)])

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        target = self.output_schema(batch.schema)
        pieces = []
        rows = ensure_reject_columns(batch)
        for stage in self.stages:
            kept, rejected = split(stage.apply(rows))
            if rejected.num_rows:
                pieces.append(_widened(rejected, target, stage.name))
            rows = kept
        pieces.append(_widened(rows, target, KEPT_BY_ALL))
        return pa.concat_batches(pieces)


def _widened(batch: pa.RecordBatch, target: pa.Schema, left_at: str) -> pa.RecordBatch:
    """`batch` in `target`'s columns: the ones it lacks are null, LEFT_AT is `left_at`."""
    arrays = []
    for field in target:
        if field.name == LEFT_AT:
            arrays.append(pa.array([left_at] * batch.num_rows, pa.string()))
        elif (i := batch.schema.get_field_index(field.name)) >= 0:
            column = batch.column(i)
            arrays.append(column if column.type == field.type else column.cast(field.type))
        else:
            arrays.append(pa.nulls(batch.num_rows, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=target)
