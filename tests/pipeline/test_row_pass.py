"""The row pass: the row-local stages in one pass give each row the reason and the values the stages one by one give."""
from __future__ import annotations

import pyarrow as pa
import pytest

from pipeline import reasons
from pipeline.config import PipelineConfig
from pipeline.ingest.records import RawRecord, to_files_batch
from pipeline.row_pass import KEPT_BY_ALL, LEFT_AT, RowPass
from pipeline.stage import REASON, split
from pipeline.stages import batch_stage, step_name, steps

ROW_STAGES = ["filter", "quality", "privacy", "detox", "decontam"]
FILES = {
    "good.py": "def add(a, b):\n    return a + b\n",
    "long.py": "value = 1\n" * 10_001,  # filter: too many lines
    "broken.py": "def f(:\n    return ((\n" * 3,  # quality: syntax error
    "mail.py": "AUTHOR = 'jane.doe@acme-corp.de'\n\n\ndef add(a, b):\n    return a + b\n",  # privacy rewrites it
    "rude.py": "# " + " ".join(["fuck"] * 12) + "\ndef add(a, b):\n    return a + b\n",  # detox
    "notes.md": "# Notes\n\nNothing to parse here.\n",
}


def _batch() -> pa.RecordBatch:
    return to_files_batch([RawRecord("s", "r", path, text.encode()) for path, text in FILES.items()])


def _one_by_one(batch, stages):
    """Each stage on the kept rows of the one before: {path: (stage, reason)} and the last kept batch."""
    left, rows = {}, batch
    for stage in stages:
        kept, rejected = split(stage.apply(rows))
        left.update({p: (stage.name, r) for p, r in zip(rejected.column("path").to_pylist(),
                                                       rejected.column(REASON).to_pylist())})
        rows = kept
    return left, rows


def test_one_pass_gives_each_row_the_stage_and_reason_of_the_stages_one_by_one():
    cfg = PipelineConfig()
    stages = [batch_stage(name, cfg) for name in ROW_STAGES]
    batch = _batch()
    out = RowPass(stages).apply(batch)
    expected_left, expected_kept = _one_by_one(batch, stages)
    assert out.num_rows == batch.num_rows  # every row leaves once
    rows = out.to_pylist()
    got_left = {r["path"]: (r[LEFT_AT], r[REASON]) for r in rows if r[LEFT_AT] != KEPT_BY_ALL}
    assert got_left == expected_left
    assert expected_left["long.py"] == ("filter", reasons.TOO_MANY_LINES)
    assert expected_left["broken.py"] == ("quality", reasons.SYNTAX_ERROR)
    assert expected_left["rude.py"][0] == "detox"
    kept = [r for r in rows if r[LEFT_AT] == KEPT_BY_ALL]
    assert [{k: v for k, v in r.items() if k != LEFT_AT} for r in kept] == expected_kept.to_pylist()
    assert "<EMAIL>" in next(r["content"] for r in kept if r["path"] == "mail.py")


def test_columns_a_later_stage_adds_are_null_on_rows_an_earlier_one_rejected():
    cfg = PipelineConfig()
    stages = [batch_stage(name, cfg) for name in ROW_STAGES]
    row_pass = RowPass(stages)
    out = row_pass.apply(_batch())
    assert out.schema == row_pass.output_schema(_batch().schema)
    long_row = next(r for r in out.to_pylist() if r["path"] == "long.py")
    assert long_row["quality_scored"] is None and long_row["pii_email"] is None
    broken = next(r for r in out.to_pylist() if r["path"] == "broken.py")
    assert broken["quality_scored"] is True and broken["pii_email"] is None


def test_an_empty_batch_gives_an_empty_batch_of_the_pass_schema():
    stages = [batch_stage(name, PipelineConfig()) for name in ("filter", "detox")]
    empty = _batch().slice(0, 0)
    out = RowPass(stages).apply(empty)
    assert out.num_rows == 0 and out.schema.names[-1] == LEFT_AT


def test_steps_group_consecutive_row_local_stages_only():
    names = ["ingest", *ROW_STAGES, "exact", "near"]
    assert steps(names) == [("ingest",), tuple(ROW_STAGES), ("exact",), ("near",)]
    assert steps(names, fuse=False) == [(n,) for n in names]
    assert steps(["filter", "detox", "decontam"]) == [("filter",), ("detox", "decontam")]  # quality is not between
    assert step_name(tuple(ROW_STAGES)) == "filter..decontam" and step_name(("near",)) == "near"
    with pytest.raises(ValueError, match="at least one stage"):
        RowPass([])
