"""Dataset rows (JSONL lines, Parquet batches) to raw records: bad lines and missing fields become reasons."""
import json

import pyarrow as pa
import pytest

from pipeline import reasons
from pipeline.config import DatasetFields
from pipeline.ingest.datasets import from_fields, from_jsonl, from_table
from pipeline.ingest.records import INGEST_SCHEMA, to_files_batch

FIELDS = DatasetFields()


def jsonl(lines, file_path="data/part-0.jsonl", fields=FIELDS, source="stack"):
    recs = list(from_jsonl(source, pa.array(lines, pa.string()), pa.array([file_path] * len(lines)), fields))
    batch = to_files_batch(recs)  # whatever a line holds, its record must fit the files table
    assert batch.schema == INGEST_SCHEMA and batch.num_rows == len(recs)
    return recs


def line(**values):
    return json.dumps(values)


def test_good_records():
    recs = jsonl([line(path="a/b.py", content="x = 1\n", repo_name="org/repo"),
                  line(path="c.go", content="package c\n")])
    assert recs[0].source == "stack" and recs[0].repo == "org/repo" and recs[0].path == "a/b.py"
    assert recs[0].data == "x = 1\n" and recs[0].reject_reason is None
    assert recs[1].repo == "stack"  # no repo column: the source name


def test_blank_lines_are_not_records():
    recs = jsonl(["", "   ", None, line(path="a.py", content="x\n"), "\t\r"])
    assert [r.path for r in recs] == ["a.py"]


@pytest.mark.parametrize("raw, hint", [
    ('{"path": "a.py", "content": "x"', "invalid JSON"),
    ("not json at all", "invalid JSON"),
    ('{"path": "a.py"} trailing', "invalid JSON"),
    ("[" * 100_000, "invalid JSON"),                  # nesting deeper than the parser's stack
    ('[{"path": "a.py", "content": "x"}]', "a JSON list, not an object"),
    ('"just a string"', "a JSON str, not an object"),
    ("42", "a JSON int, not an object"),
    ("null", "a JSON NoneType, not an object"),
])
def test_bad_lines(raw, hint):
    (rec,) = jsonl([raw])
    assert rec.reject_reason == reasons.BAD_RECORD
    assert hint in rec.reject_detail
    assert rec.data is None
    assert rec.path.startswith("part-0.jsonl#") and len(rec.path) == len("part-0.jsonl#") + 16


def test_bad_line_names_are_stable_and_distinct():
    a1, a2, b = jsonl(["oops {", "oops {", "oops }"])
    assert a1.path == a2.path != b.path


@pytest.mark.parametrize("values, field", [
    ({"content": "x = 1\n"}, "path"),
    ({"path": "", "content": "x = 1\n"}, "path"),
    ({"path": 7, "content": "x = 1\n"}, "path"),
    ({"path": "a.py"}, "content"),
    ({"path": "a.py", "content": None}, "content"),
    ({"path": "a.py", "content": ["x"]}, "content"),
])
def test_missing_fields(values, field):
    (rec,) = jsonl([json.dumps(values)])
    assert rec.reject_reason == reasons.MISSING_FIELD
    assert f"'{field}'" in rec.reject_detail and f"ingest.dataset.{field}" in rec.reject_detail
    if field == "content":
        assert rec.path == "a.py"
    else:
        assert rec.path.startswith("part-0.jsonl#")


def test_custom_field_names():
    fields = DatasetFields(content="text", path="max_stars_repo_path", repo="max_stars_repo_name", language="lang")
    recs = jsonl([
        line(text="fn main() {}\n", max_stars_repo_path="src/main.rs", max_stars_repo_name="o/r", lang="Rust"),
        line(text="x\n", max_stars_repo_path="x.weird", lang=""),
        line(content="x\n", path="a.py"),  # the default names mean nothing now
    ], fields=fields)
    assert (recs[0].path, recs[0].data, recs[0].repo, recs[0].language) == ("src/main.rs", "fn main() {}\n",
                                                                            "o/r", "Rust")
    assert recs[1].language is None and recs[1].repo == "stack"
    assert recs[2].reject_reason == reasons.MISSING_FIELD and "'max_stars_repo_path'" in recs[2].reject_detail


def test_empty_repo_field_name_means_the_source():
    (rec,) = jsonl([line(path="a.py", content="x\n", repo_name="o/r")], fields=DatasetFields(repo=""))
    assert rec.repo == "stack"


def test_lone_surrogates_in_fields():
    recs = jsonl(['{"path": "a\\ud800.py", "content": "x = 1\\n"}',
                  '{"path": "b.py", "content": "x = \'\\ud800\'\\n"}',
                  '{"path": "c.py", "content": "x\\n", "repo_name": "o/\\udc00"}'])
    assert recs[0].reject_reason == reasons.UNDECODABLE_PATH and recs[0].path == "a\\ud800.py"
    assert recs[1].reject_reason is None  # the content is judged when decoded
    assert recs[2].reject_reason == reasons.BAD_RECORD
    rows = to_files_batch(recs).to_pylist()
    assert rows[1]["reject_reason"] == reasons.UNDECODABLE


def test_records_decode_into_the_files_table():
    recs = jsonl([line(path="a.py", content="x = 1\n"), line(path="n.py", content="a\u0000b"),
                  line(path="w.py", content="  \n"), line(path="tool", content="#!/bin/sh\necho hi\n")])
    rows = to_files_batch(recs).to_pylist()
    assert [r["reject_reason"] for r in rows] == [None, reasons.NUL_BYTES, reasons.EMPTY, None]
    assert rows[0]["encoding"] == "utf-8" and rows[0]["content"] == "x = 1\n"
    assert rows[3]["language"] == "Shell"


def test_from_table_parquet_rows():
    batch = pa.RecordBatch.from_pydict({"content": ["x = 1\n", None, "y\n"], "path": ["a.py", "b.py", None],
                                        "repo_name": ["o/r", "o/r", None]})
    recs = list(from_table("pq", batch, pa.array(["d/p.parquet"] * 3), FIELDS))
    assert (recs[0].path, recs[0].data, recs[0].repo) == ("a.py", "x = 1\n", "o/r")
    assert recs[1].reject_reason == reasons.MISSING_FIELD and recs[1].path == "b.py"
    assert recs[2].reject_reason == reasons.MISSING_FIELD and recs[2].path.startswith("p.parquet#")


def test_from_fields_directly():
    rec = from_fields("s", {"path": "a.py", "content": "x\n", "repo_name": 5}, FIELDS, "f.jsonl")
    assert rec.repo == "s"  # a repo that is not a string falls back to the source
