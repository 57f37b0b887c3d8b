"""A run SIGKILLed while a stage writes resumes from its finished stages and ends with byte-identical tables.

Byte-identical here: every Parquet file's data pages and page headers (all bytes before the footer) are equal, and
the footers are equal once each column chunk's `encodings` list is sorted. parquet-mr writes that list in an order
that changes from one JVM process to the next (the killed run's JVM wrote the early stages); files written by one
JVM process are equal in every byte.
"""
from __future__ import annotations

import json
import os
import re
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.config import STAGES
from pipeline.runner import run
from tests.conftest import TEST_SPARK, pipeline_cfg

pytestmark = pytest.mark.spark
ROOT = Path(__file__).resolve().parents[2]
KILLED_IN = "near"  # a whole-dataset stage late in the run: several finished stages before it, several after
JOB_ID = re.compile(r"-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # Spark's per-write UUID


def _parquet_files(out: Path) -> dict[str, Path]:
    """Every Parquet file of a run folder by its path, less the per-write UUID in part-file names."""
    return {JOB_ID.sub("", str(p.relative_to(out))): p for p in sorted(out.rglob("*.parquet"))
            if "_staging" not in p.parts}


def _pages_and_footer(path: Path) -> tuple[bytes, dict]:
    """(every byte before the footer, the footer as a dict with each column chunk's encodings sorted)."""
    data = path.read_bytes()
    assert data[:4] == data[-4:] == b"PAR1", path
    footer_len = struct.unpack("<I", data[-8:-4])[0]
    footer = pq.ParquetFile(path).metadata.to_dict()
    for group in footer["row_groups"]:
        for column in group["columns"]:
            column["encodings"] = sorted(column["encodings"])
    return data[:len(data) - 8 - footer_len], footer


def test_sigkill_mid_stage_then_resume_gives_byte_identical_tables(spark, mixed_corpus, mixed_default_run,
                                                                     tmp_path):
    corpus, _ = mixed_corpus
    reference_out, reference = mixed_default_run
    out = tmp_path / "killed"
    spark_sets = [f"spark.{k}={getattr(TEST_SPARK, k)}" for k in
                  ("master", "shuffle_partitions", "driver_memory", "arrow_batch_rows")]
    argv = [sys.executable, "-m", "pipeline", "run", "--input", f"corpus={corpus}", "--output", str(out)]
    for s in spark_sets:  # the test session's settings, so the fingerprints equal the reference run's
        argv += ["--set", s]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYSPARK_GATEWAY_PORT", None)
    proc = subprocess.Popen(argv, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and not list((out / "_staging").glob(f"{KILLED_IN}-*")):
            assert proc.poll() is None, f"the run ended (exit {proc.returncode}) before {KILLED_IN} began writing"
            time.sleep(0.01)
        assert list((out / "_staging").glob(f"{KILLED_IN}-*")), f"never saw the {KILLED_IN} write start"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    names = list(STAGES)
    before = names[:names.index(KILLED_IN)]
    assert [n for n in names if (out / n / "_SUCCESS").exists()] == before
    assert not json.loads((out / "run.json").read_text())["finished"]

    resumed = run(pipeline_cfg([f"corpus={corpus}"], out), spark)
    assert [(s["name"], s["status"]) for s in resumed["stages"]] == \
        [(n, "skipped" if n in before else "ran") for n in names]
    assert resumed["finished"] and not (out / "_staging").exists()
    assert [(s["name"], s["kept"], s["rejected"]) for s in resumed["stages"]] == \
        [(s["name"], s["kept"], s["rejected"]) for s in reference["stages"]]

    got, want = _parquet_files(out), _parquet_files(reference_out)
    assert sorted(got) == sorted(want)
    # every stage's tables and the rejects table; privacy, inside the row pass, keeps no table and rejects nothing
    assert {k.split("/")[0] for k in got} >= {*names, "rejects"} - {"privacy"}
    assert [k for k in want if _pages_and_footer(got[k]) != _pages_and_footer(want[k])] == []
