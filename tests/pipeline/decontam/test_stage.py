"""The decontam stage on Arrow batches: exact reason and detail, untouched rows, reads only `content`."""
from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline import reasons
from pipeline.config import DecontamConfig
from pipeline.decontam import benchmarks
from pipeline.decontam.stage import Decontaminator
from pipeline.ingest.records import RawRecord, to_files_batch
from pipeline.stage import DETAIL, REASON

STDLIB = Path(sysconfig.get_paths()["stdlib"])


@pytest.fixture(scope="module")
def humaneval():
    return {r.task_id: r for r in benchmarks.load_records(("humaneval",), ())}


def solution(rec) -> str:
    return rec.prompt + rec.canonical_solution


def test_rejects_planted_items_and_keeps_the_rest(humaneval):
    heapq = (STDLIB / "heapq.py").read_text(encoding="utf-8")
    docless = humaneval["HumanEval/22"].prompt.split('"""')[0] + humaneval["HumanEval/22"].canonical_solution
    batch = to_files_batch([
        RawRecord("s", "r", "clean.py", heapq.encode()),
        RawRecord("s", "r", "copy.py", (heapq + "\n\n" + solution(humaneval["HumanEval/12"])).encode()),
        RawRecord("s", "r", "docless.py", (docless + "\n" + heapq).encode()),
        RawRecord("s", "r", "notes.md", ("# Notes\n\n```python\n" + solution(humaneval["HumanEval/3"]) +
                                         "```\n").encode()),
    ])
    out = Decontaminator(DecontamConfig()).apply(batch)
    assert out.schema == batch.schema and out.num_rows == 4
    assert out.column(REASON).to_pylist() == [None] + [reasons.BENCHMARK_CONTAMINATION] * 3
    details = out.column(DETAIL).to_pylist()
    assert details[0] is None
    assert details[1] == "HumanEval/12: verbatim substring"
    assert details[2] == "HumanEval/22: n-gram overlap 1.00"
    assert details[3] == "HumanEval/3: verbatim substring"


def test_reads_only_content_and_leaves_rejected_rows(humaneval):
    text = solution(humaneval["HumanEval/0"])
    batch = pa.RecordBatch.from_pydict({
        "content": [text, text, None],
        REASON: [None, "too_many_lines", None],
        DETAIL: [None, "earlier", None],
    })
    stage = Decontaminator(DecontamConfig())
    assert stage.reads == ("content",)
    out = stage.apply(batch)
    assert out.column_names == ["content", REASON, DETAIL]
    assert out.column(REASON).to_pylist() == [reasons.BENCHMARK_CONTAMINATION, "too_many_lines", None]
    assert out.column(DETAIL).to_pylist() == ["HumanEval/0: verbatim substring", "earlier", None]


def test_content_only_batch_gets_the_reject_pair():
    out = Decontaminator(DecontamConfig()).apply(pa.RecordBatch.from_pydict({"content": ["print('hello')\n"]}))
    assert out.column_names == ["content", REASON, DETAIL]
    assert out.column(REASON).to_pylist() == [None]


def test_extra_file_benchmark_and_bad_file(tmp_path):
    item = {"task_id": "Mine/7", "prompt": "def checksum(data: bytes) -> int:\n",
            "canonical_solution": "    total = 0\n    for i, byte in enumerate(data):\n"
                                  "        total = (total * 31 + byte + i) % 1000003\n    return total\n"}
    good = tmp_path / "mine.jsonl"
    good.write_text(json.dumps(item) + "\n")
    stage = Decontaminator(DecontamConfig(benchmarks=[], extra_files=[str(good)]))
    batch = pa.RecordBatch.from_pydict({"content": ["import os\n" + item["prompt"] + item["canonical_solution"]]})
    assert stage.apply(batch).column(DETAIL).to_pylist() == ["Mine/7: verbatim substring"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"task_id": "x", "prompt": "p"}) + "\n")
    with pytest.raises(ValueError, match="bad.jsonl:1: field 'canonical_solution' is missing"):
        Decontaminator(DecontamConfig(extra_files=[str(bad)]))


def test_only_rows_the_batch_screen_passes_are_looked_at_one_by_one(humaneval, monkeypatch):
    from pipeline.decontam import matcher as matcher_module

    heapq = (STDLIB / "heapq.py").read_text(encoding="utf-8")
    copy = heapq + "\n\n" + solution(humaneval["HumanEval/12"])
    clean = "import os\n\nprint(os.getcwd())\n"  # no n-gram of any item (heapq.py has some, though clean)
    batch = to_files_batch([RawRecord("s", "r", "clean.py", clean.encode()),
                            RawRecord("s", "r", "copy.py", copy.encode())])
    stage = Decontaminator(DecontamConfig())
    looked = []
    real = matcher_module.Matcher.contamination
    monkeypatch.setattr(matcher_module.Matcher, "contamination", lambda self, text: looked.append(text) or
                        real(self, text))
    out = stage.apply(batch)
    assert out.column(REASON).to_pylist() == [None, reasons.BENCHMARK_CONTAMINATION]
    assert len(looked) == 1 and looked[0] == out.column("content")[1].as_py()  # the clean file: never one by one
    assert "HumanEval/12" in out.column(DETAIL)[1].as_py()
