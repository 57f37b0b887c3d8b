"""The stage contract: a pure function over an Arrow batch that adds columns and marks rows it rejects."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from schemas import REJECT_COLUMNS, with_reject_columns

REASON, DETAIL = (f.name for f in REJECT_COLUMNS)


class BatchStage:
    """Base class: subclasses set `name` and implement `apply`; Spark and tests call the same `apply`."""

    name: str = ""
    tally: tuple[str, ...] = ()  # columns whose values are counted among kept rows in the run report
    sums: tuple[str, ...] = ()  # numeric columns totalled over kept rows in the run report (with rows above 0)
    one_row_per_input: bool = True  # every input row leaves as kept or rejected (reconciled against the input)
    changes_content: bool = False  # it rewrites content (and size_bytes) of rows it keeps
    # A stage that adds no columns of its own and decides from a few of them names them here: Spark then sends only
    # these (and the reject pair) to Python. None: `apply` needs whole rows.
    reads: tuple[str, ...] | None = None

    def output_schema(self, input_schema: pa.Schema) -> pa.Schema:
        """What `apply` returns for a batch of `input_schema`: by default the same columns plus the reject pair."""
        return with_reject_columns(input_schema)

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        raise NotImplementedError

    def extra_outputs(self, kept_df) -> dict:
        """Tables derived from this stage's kept rows, written beside them ({name: DataFrame}); none by default."""
        return {}

    def __call__(self, batches):
        """mapInArrow body: `df.mapInArrow(stage, schema)`."""
        for batch in batches:
            yield self.apply(batch)


class FrameStage(BatchStage):
    """A whole-dataset stage (dedup, resampling): `transform` is a DataFrame function whose math sits in pure
    helpers; `stats` holds what it measured on the way (shown in the run table and run.json)."""

    def __init__(self):
        self.stats: dict = {}

    def apply(self, batch):
        raise TypeError(f"{self.name} is a whole-dataset stage: use transform(DataFrame)")

    def transform(self, df):
        raise NotImplementedError


def ensure_reject_columns(batch: pa.RecordBatch) -> pa.RecordBatch:
    for f in REJECT_COLUMNS:
        if batch.schema.get_field_index(f.name) < 0:
            batch = batch.append_column(f, pa.nulls(batch.num_rows, f.type))
    return batch


def mark(batch: pa.RecordBatch, mask: pa.Array, reason: str, detail: pa.Array | str) -> pa.RecordBatch:
    """Set (reason, detail) on rows where `mask` is true and no earlier rule rejected them already."""
    batch = ensure_reject_columns(batch)
    current = batch.column(REASON)
    hit = pc.and_(pc.fill_null(mask, False), pc.is_null(current))
    new_reason = pc.if_else(hit, pa.scalar(reason, pa.string()), current)
    if isinstance(detail, str):
        detail = pa.scalar(detail, pa.string())
    new_detail = pc.if_else(hit, detail, batch.column(DETAIL))
    batch = batch.set_column(batch.schema.get_field_index(REASON), REJECT_COLUMNS.field(REASON), new_reason)
    return batch.set_column(batch.schema.get_field_index(DETAIL), REJECT_COLUMNS.field(DETAIL), new_detail)


def split(batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.RecordBatch]:
    """The generic drop step on one batch: (kept rows, rejected rows); every row lands in exactly one."""
    batch = ensure_reject_columns(batch)
    rejected = pc.is_valid(batch.column(REASON))
    return batch.filter(pc.invert(rejected)), batch.filter(rejected)
