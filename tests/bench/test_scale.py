"""The scale bench's pure parts: the half/whole selection, phase spans and memory attribution, tables, goals, the
process roles, the parse-count hook and the missing-corpus exit."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import scale, scale_report, scale_sample
from bench.scale_subset import link_tree, list_files, path_key, select

REPO = Path(__file__).resolve().parents[2]


def _files(n: int, size: int = 1000) -> list[tuple[str, int]]:
    return [(f"pkg{i % 7}/src/module_{i}.py", size) for i in range(n)]


def test_path_key_is_fixed_by_the_path_alone():
    assert path_key("a/b.py") == path_key("a/b.py")  # same process
    code = "from bench.scale_subset import path_key; print(repr(path_key('a/b.py')))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": "123", "PYTHONPATH": str(REPO)})
    assert float(other.stdout) == path_key("a/b.py")  # another process, another str-hash seed
    assert path_key("a/b.py") != path_key("a/c.py") and 0 <= path_key("a/b.py") < 1


def test_half_is_a_deterministic_subset_of_about_half():
    files = _files(4000)
    whole, half = select(files)
    assert whole == sorted(rel for rel, _ in files)
    assert set(half) <= set(whole) and 0.46 < len(half) / len(whole) < 0.54
    assert select(list(reversed(files))) == (whole, half)  # listing order does not matter


def test_limit_keeps_about_that_many_mb_and_half_of_it():
    files = _files(4000, size=10_000)  # 40 MB
    whole, half = select(files, limit_mb=10)
    assert 1000 <= len(whole) <= 1001  # stops as soon as 10 MB are in
    assert set(half) <= set(whole) and 0.44 < len(half) / len(whole) < 0.56
    bigger, _ = select(files, limit_mb=20)
    assert set(whole) <= set(bigger)  # a larger limit extends the same hash order
    assert select(files, limit_mb=1000)[0] == select(files)[0]


def test_link_tree_mirrors_the_chosen_files(tmp_path):
    root = tmp_path / "corpus"
    for rel in ("a/x.py", "a/b/y.c", "z.txt"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    (root / "link.py").symlink_to(root / "z.txt")
    assert list_files(root) == [("a/b/y.c", 7), ("a/x.py", 6), ("z.txt", 5)]  # the symlink is left out
    dest = tmp_path / "half"
    (dest / "stale").mkdir(parents=True)
    assert link_tree(root, ["a/b/y.c", "z.txt"], dest) == "hard links"
    assert list_files(dest) == [("a/b/y.c", 7), ("z.txt", 5)]
    assert (dest / "z.txt").stat().st_ino == (root / "z.txt").stat().st_ino


def _sample(t, python=0, jvm=0, workers=0, other=0):
    g = int(scale_report.GB)
    return {"t": t, "python": python * g, "jvm": jvm * g, "workers": workers * g, "other": other * g}


ENDS = [("ingest", 4.0, 110.0), ("filter", 3.0, 114.0), ("quality", 10.0, 125.0)]


def test_phases_cover_the_run_with_startup_and_finish():
    spans = scale_report.phases(ENDS, 100.0, 130.0)
    assert spans == [("startup", 100.0, 106.0), ("ingest", 106.0, 110.0), ("filter", 110.0, 114.0),
                     ("quality", 114.0, 125.0), ("finish", 125.0, 130.0)]
    assert [scale_report.label_at(t, spans) for t in (100.5, 106.5, 110.0, 110.2, 124.9, 127, 131)] == \
        ["startup", "ingest", "ingest", "filter", "quality", "finish", "finish"]
    assert scale_report.phases([], 1.0, 2.0) == [("startup", 1.0, 2.0)]


def test_memory_peaks_go_to_the_stage_running_at_the_time():
    spans = scale_report.phases(ENDS, 100.0, 130.0)
    samples = [_sample(101, python=0.2, jvm=0.5), _sample(107, python=0.3, jvm=1.0, workers=0.4),
               _sample(115, python=0.3, jvm=1.2, workers=1.5, other=0.1), _sample(120, python=0.3, jvm=1.6),
               _sample(128, python=0.3, jvm=0.9)]
    p = scale_report.peaks(samples, spans)
    assert p["startup"]["driver_gb"] == pytest.approx(0.7) and p["startup"]["workers_gb"] == 0
    assert p["ingest"]["workers_gb"] == pytest.approx(0.4)
    assert p["quality"]["driver_gb"] == pytest.approx(1.9)  # the later sample, JVM grown
    assert p["quality"]["workers_gb"] == pytest.approx(1.5)
    assert p["quality"]["total_gb"] == pytest.approx(3.1)  # both at the same sample, 'other' included
    assert "filter" not in p  # no sample fell in it
    assert p["*"]["total_gb"] == pytest.approx(3.1) and p["*"]["samples"] == 5


RUN_JSON = {"stages": [
    {"name": "ingest", "status": "ran", "rows_in": 100, "kept": 80, "mb_in": 8.0, "seconds": 4.0},
    {"name": "filter", "status": "ran", "rows_in": 80, "kept": 70, "mb_in": 6.0, "seconds": 3.0},
    {"name": "quality", "status": "ran", "rows_in": 70, "kept": 60, "mb_in": 5.0, "seconds": 10.0}]}


def _summary(label="whole", wall=30.0, parses=(116.0, 117.0, 118.0, 126.0), mb=9.0):
    samples = [_sample(107, python=0.3, jvm=1.0, workers=0.4), _sample(115, python=0.3, jvm=1.2, workers=1.5)]
    return scale_report.summarise(label, RUN_JSON, ENDS, samples, list(parses), 100.0, 100.0 + wall, 100, mb)


def test_summary_rows_take_stage_figures_from_run_json_and_phases_from_the_spans():
    s = _summary()
    assert [r["stage"] for r in s["rows"]] == ["startup", "ingest", "filter", "quality", "finish"]
    quality = s["rows"][3]
    assert (quality["rows_in"], quality["kept"], quality["seconds"], quality["mb_per_s"]) == (70, 60, 10.0, 0.5)
    assert quality["parses"] == 3 and s["rows"][4]["parses"] == 1 and s["parses"] == 4
    assert quality["members"] == ["quality"] and s["rows"][0]["members"] == []  # startup is no stage
    assert s["rows"][0]["seconds"] == 6.0 and s["rows"][0]["rows_in"] is None  # startup: from the spans
    assert s["wall_s"] == 30.0 and s["stage_seconds"] == 17.0 and s["mb_per_s"] == 0.3
    assert s["peak_total_gb"] == pytest.approx(3.0) and s["peak_driver_gb"] == pytest.approx(1.5)
    no_count = scale_report.summarise("x", RUN_JSON, ENDS, [], None, 100.0, 130.0, 1, 1.0)
    assert no_count["parses"] is None and no_count["rows"][1]["parses"] is None


def test_tables_and_goals():
    half, whole = _summary("half", wall=14.0, mb=4.5), _summary("whole", wall=30.0)
    table = scale_report.run_table(whole)
    lines = table.splitlines()
    assert lines[0] == "whole: 100 files, 9.0 MB" and lines[1].split()[:3] == ["stage", "rows", "in"]
    assert lines[5].split()[:7] == ["quality", "70", "60", "5.0", "10.0", "0.50", "1.50"]
    assert lines[2].split()[:3] == ["startup", "-", "-"]
    assert "peak total 3.00 GB" in lines[-1]
    compare = scale_report.compare_table(half, whole).splitlines()
    assert compare[-1].split()[:4] == ["wall", "14.0", "30.0", "2.14"]
    assert compare[4].split()[:4] == ["quality", "10.0", "10.0", "1.00"]
    goals = scale_report.goals(half, whole, "small")
    assert [m for _, _, m in goals] == [None, False, True, True]  # 5 min applies to the full profile only
    assert "2.14 for 2.00x the data" in goals[3][0]
    full = scale_report.goals(half, {**whole, "wall_s": 301.0}, "full")
    assert full[0][2] is False and full[3][2] is False  # 301 s; 301/14 > 2.2
    assert "NOT met" in scale_report.goals_text(full) and "n/a" in scale_report.goals_text(goals)
    part = scale_report.goals(half, {**whole, "wall_s": 40.0}, "full", limited=True)
    assert part[0][2] is None  # a --limit-mb part of the full profile is not judged against the whole's 300 s


def test_process_roles_by_command_line():
    assert scale_sample.role(["python", "-m", "pipeline", "run"], is_root=True) == "python"
    java = ["/usr/lib/jvm/java-17/bin/java", "-cp", "x", "org.apache.spark.deploy.SparkSubmit", "pyspark-shell"]
    assert scale_sample.role(java, is_root=False) == "jvm"
    assert scale_sample.role(["/venv/bin/python", "-m", "pyspark.daemon"], is_root=False) == "workers"
    assert scale_sample.role(["/venv/bin/python", "-m", "pyspark.worker"], is_root=False) == "workers"
    assert scale_sample.role(["bash", "-c", "sleep 1"], is_root=False) == "other"


def test_a_jvm_forking_a_worker_is_counted_once():
    java = ["java", "-cp", "x", "org.apache.spark.deploy.SparkSubmit", "pyspark-shell"]
    daemon = ["python", "-m", "pyspark.daemon"]
    rows = [(1, 0, 100, ["python", "-m", "pipeline"]), (2, 1, 4000, java), (3, 2, 3900, java),
            (4, 2, 50, daemon), (5, 4, 40, daemon)]
    assert scale_sample.tally(rows, 1) == {"python": 100, "jvm": 4000, "workers": 90, "other": 0, "n_workers": 2}


def test_run_sampled_sees_the_children_and_their_memory(tmp_path):
    child = tmp_path / "child.py"
    child.write_text("import time\ny = b'y' * 40_000_000\ntime.sleep(1.2)\n")
    parent = tmp_path / "parent.py"
    parent.write_text(f"import subprocess, sys, time\nx = b'x' * 60_000_000\n"
                      f"p = subprocess.Popen([sys.executable, {str(child)!r}])\ntime.sleep(1.0)\np.wait()\n")
    ticks = []
    rc, samples, t0, t1 = scale_sample.run_sampled([sys.executable, str(parent)], dict(os.environ),
                                                   tmp_path / "log", 0.1, 30, lambda: ticks.append(1))
    assert rc == 0 and t1 - t0 >= 1.0 and len(ticks) == len(samples) + 1
    assert max(s["python"] for s in samples) > 60e6 and max(s["other"] for s in samples) > 40e6


def test_run_sampled_stops_a_run_past_its_timeout(tmp_path):
    rc, _, t0, t1 = scale_sample.run_sampled([sys.executable, "-c", "import time; time.sleep(30)"],
                                             dict(os.environ), tmp_path / "log", 0.1, 0.5)
    assert rc == 124 and t1 - t0 < 10


def test_parse_hook_logs_each_parse_in_a_child_python(tmp_path):
    env = scale_sample.parse_hook_env({**os.environ, "PYTHONPATH": str(REPO)}, tmp_path / "parses")
    code = ("from pipeline.quality.analyze import analyze; from pipeline.quality.facts import facts_after_edits; "
            "[analyze('def f(x):\\n    return x\\n', 'Python', 1000) for _ in range(3)]; "
            "t = 'def f(x):\\n    return 1\\n'; "
            "facts_after_edits(analyze(t, 'Python', 1000, keep_tree=True)['parsed'], t, t.replace('1', '22'), "
            "[(t.index('1'), t.index('1') + 1, '22')], 1000)")
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert len(scale_sample.parse_times(tmp_path / "parses")) == 4  # the incremental one is counted apart
    assert scale_sample.incremental_parses(tmp_path / "parses") == 1
    quiet = subprocess.run([sys.executable, "-c", "import tree_sitter; print(tree_sitter.Parser.__name__)"],
                           env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, check=True)
    assert quiet.stdout.strip() == "Parser"  # without the hook the pipeline's parser is untouched


def test_missing_corpus_exits_2_with_the_command_that_builds_it(tmp_path, capsys):
    assert scale.main(["--corpus", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "ROOT=/tmp/corpora-small PROFILE=small PARTS=code bash ../shared/corpus/make_corpus.sh" in err
    assert scale.main(["--profile", "full", "--corpus", str(tmp_path / "nowhere")]) == 2
    assert "build it with\n  bash ../shared/corpus/make_corpus.sh" in capsys.readouterr().err


def test_a_row_pass_is_one_phase_with_its_first_stages_rows_and_its_seconds():
    stages = [{"name": "ingest", "status": "ran", "rows_in": 100, "kept": 80, "mb_in": 8.0, "seconds": 4.0},
              *[{"name": n, "status": "ran", "rows_in": r, "kept": k, "mb_in": mb, "seconds": s,
                 "stats": {"row_pass": "filter..decontam"}}
                for n, r, k, mb, s in (("filter", 80, 70, 6.0, 0.0), ("quality", 70, 60, 5.0, 0.0),
                                       ("decontam", 60, 55, 4.9, 12.5))],
              {"name": "exact", "status": "ran", "rows_in": 55, "kept": 50, "mb_in": 4.8, "seconds": 2.0}]
    merged = scale_report.merged_stages(stages)
    assert [s["name"] for s in merged] == ["ingest", "filter..decontam", "exact"]
    row_pass = merged[1]
    assert (row_pass["rows_in"], row_pass["kept"], row_pass["mb_in"], row_pass["seconds"]) == (80, 55, 6.0, 12.5)
    assert row_pass["members"] == ["filter", "quality", "decontam"] and merged[2]["members"] == ["exact"]
    assert stages[1]["name"] == "filter"  # run.json's entries are not changed


def test_the_summary_row_of_a_row_pass_names_its_stages():
    run_json = {"stages": [RUN_JSON["stages"][0], *[{**s, "stats": {"row_pass": "filter..quality"}, "seconds": t}
                                                    for s, t in zip(RUN_JSON["stages"][1:], (0.0, 13.0))]]}
    ends = [("ingest", 4.0, 110.0), ("filter..quality", 13.0, 125.0)]
    s = scale_report.summarise("whole", run_json, ends, [], [116.0, 117.0], 100.0, 130.0, 100, 9.0)
    row = next(r for r in s["rows"] if "quality" in r["members"])
    assert (row["stage"], row["members"], row["seconds"], row["parses"]) == \
        ("filter..quality", ["filter", "quality"], 13.0, 2)
