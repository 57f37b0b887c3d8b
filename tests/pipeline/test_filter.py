"""The first-level filter: each rule's reason and detail, its boundary, rule order, and config thresholds."""
from __future__ import annotations

import dataclasses

import pyarrow as pa
import pytest

from pipeline import reasons
from pipeline.config import FilterConfig
from pipeline.filter import FileFilter
from pipeline.ingest.records import RawRecord, to_files_batch
from pipeline.stage import split


def _files(*texts: str) -> pa.RecordBatch:
    return to_files_batch([RawRecord("s", "r", f"f{i}.py", t.encode()) for i, t in enumerate(texts)])


def _verdicts(batch, cfg=FilterConfig()):
    out = FileFilter(cfg).apply(batch)
    return list(zip(out.column("reject_reason").to_pylist(), out.column("reject_detail").to_pylist()))


GOOD = "def add(a, b):\n    return a + b\n"


@pytest.mark.parametrize("text, reason, detail", [
    ("value = 1\n" * 100_001, reasons.FILE_TOO_LARGE, "size_bytes=1000010 > filter.max_file_bytes=1000000"),
    ("value = 1\n" * 10_001, reasons.TOO_MANY_LINES, "n_lines=10001 > filter.max_lines=10000"),
    (("name = '" + "a" * 120 + "'\n") * 5, reasons.AVG_LINE_TOO_LONG,
     "avg_line_len=129 > filter.max_avg_line_len=100.0"),
    ("a = 1\n" * 300 + "b = '" + "x" * 1200 + "'\n", reasons.MAX_LINE_TOO_LONG,
     "max_line_len=1206 > filter.max_line_len=1000"),
    ("# ---- ;;;; ---- ||||\n" * 4, reasons.LOW_ALNUM_FRACTION, "alnum_frac=0 < filter.min_alnum_frac=0.4"),
])
def test_each_rule_rejects_with_its_reason_and_detail(text, reason, detail):
    assert _verdicts(_files(GOOD, text)) == [(None, None), (reason, detail)]


def test_values_at_the_limit_are_kept():
    cfg = FilterConfig(max_file_bytes=20, max_lines=2, max_avg_line_len=9.0, max_line_len=10, min_alnum_frac=0.5)
    at_limit = "abcdefghij\nabcdefgh\n"  # 20 bytes, 2 lines, mean 9, longest 10, alnum 18/20
    assert _verdicts(_files(at_limit), cfg) == [(None, None)]
    assert _verdicts(_files(at_limit + "x"), cfg)[0][0] == reasons.FILE_TOO_LARGE


def test_first_broken_rule_is_the_reason():
    # too large, too many lines and low alnum at once: size is checked first
    assert _verdicts(_files(";\n" * 600_000))[0][0] == reasons.FILE_TOO_LARGE
    relaxed = dataclasses.replace(FilterConfig(), max_file_bytes=10_000_000)
    assert _verdicts(_files(";\n" * 600_000), relaxed)[0][0] == reasons.TOO_MANY_LINES


def test_thresholds_come_from_config():
    strict = dataclasses.replace(FilterConfig(), max_lines=1)
    assert _verdicts(_files(GOOD), strict)[0] == (reasons.TOO_MANY_LINES, "n_lines=2 > filter.max_lines=1")


def test_rows_rejected_upstream_keep_their_reason_and_split_accounts_for_every_row():
    batch = to_files_batch([RawRecord("s", "r", "a.py", GOOD.encode()), RawRecord("s", "r", "b.py", b""),
                            RawRecord("s", "r", "c.py", b";;;;\n")])
    out = FileFilter(FilterConfig()).apply(batch)
    assert out.column("reject_reason").to_pylist() == [None, reasons.EMPTY, reasons.LOW_ALNUM_FRACTION]
    kept, rejected = split(out)
    assert kept.num_rows + rejected.num_rows == batch.num_rows
    assert kept.column("path").to_pylist() == ["a.py"]
    assert out.schema == batch.schema  # the filter adds no columns: it only decides
