"""The command line: helper commands, config errors as exit code 2 with the key named, and a whole run."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import _parser, build_config, main
from pipeline.config import STAGES
from pipeline.default_corpus import default_inputs

ROOT = Path(__file__).resolve().parents[2]
# Spark's own chatter that a plain run leaves out (pipeline/spark/log4j2-quiet.properties)
SPARK_NOISE = ["resolves to a loopback address", "SPARK_LOCAL_IP", "NativeCodeLoader", "could not bind on port",
               "Truncated the string representation of a plan", "Using Spark's default log4j profile",
               "Setting default log level"]


def test_options_and_languages_list_what_exists(capsys):
    assert main(["options"]) == 0
    out = capsys.readouterr().out
    assert "filter.max_line_len" in out and "ingest.max_read_bytes" in out
    assert main(["languages"]) == 0
    langs = capsys.readouterr().out.split("\n")
    assert {"Python", "Java", "C++", "Markdown", "JSON", "YAML", "Shell"} <= set(langs)
    assert len([x for x in langs if x]) >= 40


def test_config_prints_the_resolved_tree(capsys, tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("filter: {max_lines: 77}\n")
    assert main(["config", "--config", str(f), "--set", "filter.max_line_len=5"]) == 0
    out = capsys.readouterr().out
    assert "max_lines: 77" in out and "max_line_len: 5" in out


@pytest.mark.parametrize("argv, message", [
    (["run", "--set", "filter.max_lines=many"], "config error: config key 'filter.max_lines' expects an integer"),
    (["run", "--set", "ingest.bogus=1"], "config error: unknown config key 'ingest.bogus'"),
    (["run", "--input", "/no/such/folder", "--output", "/tmp/x"], "config error: input not found: /no/such/folder"),
])
def test_bad_config_exits_2_before_any_job(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_no_input_means_the_embedded_corpus():
    cfg = build_config(_parser().parse_args(["run"]))
    assert cfg.run.inputs == default_inputs() and any(i.startswith("stdlib=") for i in cfg.run.inputs)
    assert "site-packages" in cfg.ingest.skip_dirs and ".git" in cfg.ingest.skip_dirs
    assert {"torch", "transformers", "deepspeed"} <= set(cfg.ingest.skip_dirs)  # the training stack stays out
    assert cfg.run.output == "out/run" and cfg.run.stages == list(STAGES)
    only = build_config(_parser().parse_args(["filter", "--input", "t", "--output", "o", "--set", "run.force=true"]))
    assert (only.run.stages, only.run.inputs, only.run.force) == (["filter"], ["t"], True)


@pytest.mark.spark
def test_run_prints_the_stage_table_and_where_outputs_are(spark, tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.py").write_text("def a():\n    return 1\n")
    (src / "b.bin").write_bytes(b"\x00\x01")
    out = tmp_path / "out"
    assert main(["run", "--input", f"demo={src}", "--output", str(out), "--set", "spark.master=local[2]"]) == 0
    printed = capsys.readouterr().out
    assert "ingest" in printed and "rejected: unknown_language" in printed
    assert f"run folder:     file://{out}" in printed
    assert main(["ingest", "--input", f"demo={src}", "--output", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [(s["name"], s["status"], s["kept"]) for s in summary["stages"]] == [("ingest", "skipped", 1)]


def test_impossible_lsh_settings_fail_before_any_job(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.py").write_text("x = 1\n")
    out = tmp_path / "out"
    argv = ["run", "--input", str(src), "--output", str(out), "--set", "dedup.threshold=1.0",
            "--set", "dedup.verify=none"]
    assert main(argv) == 2
    assert "no LSH bands and rows for threshold 1" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.spark
def test_run_tells_each_stage_on_stderr_and_verbose_brings_spark_logs_back(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(5):
        (src / f"m{i}.py").write_text(f"def f{i}(x):\n    return x + {i}\n")
    argv = [sys.executable, "-m", "pipeline", "run", "--input", f"demo={src}", "--output", str(tmp_path / "out"),
            "--stages", "ingest,filter", "--set", "spark.master=local[2]", "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYSPARK_GATEWAY_PORT", None)
    plain = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert plain.returncode == 0, plain.stderr[-4000:]
    assert [s["kept"] for s in json.loads(plain.stdout)["stages"]] == [5, 5]  # stdout holds only the JSON
    err = plain.stderr.splitlines()
    assert err.index("[pipeline] Spark session: started") < err.index("[pipeline] stage 1/2 ingest: started") \
        < err.index("[pipeline] stage 2/2 filter: started")
    ends = [line for line in err if ": done in " in line]
    assert len(ends) == 4 and ends[0].startswith("[pipeline] Spark session: done in ")
    assert ends[-1].startswith("[pipeline] rejects table and data portrait: done in ")
    for stage, line in zip(("stage 1/2 ingest", "stage 2/2 filter"), ends[1:]):
        assert line.startswith(f"[pipeline] {stage}: done in ") and "5 rows in, 5 kept, 0 rejected" in line
        assert line.endswith(" MB/s")
    assert [n for n in SPARK_NOISE if n in plain.stderr] == []
    # the same run again, verbose: both stages skip, and Spark's own log setup speaks
    verbose = subprocess.run([*argv, "--verbose"], env=env, capture_output=True, text=True, timeout=600)
    assert verbose.returncode == 0, verbose.stderr[-4000:]
    assert "[pipeline] stage 2/2 filter: skipped (finished, same fingerprint): 5 rows in, 5 kept" in verbose.stderr
    assert "Using Spark's default log4j profile" in verbose.stderr
    assert 'Setting default log level to "WARN"' in verbose.stderr
