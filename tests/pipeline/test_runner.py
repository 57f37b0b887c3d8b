"""The runner on Spark local[2]: outcomes per hostile file, reconciliation, rerun skip, atomic commit, determinism
(a run killed mid-stage: test_resume_after_kill.py)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from common.typed_config import ConfigError
from pipeline import reasons
from pipeline.config import STAGES
from pipeline.report import stage_table
from pipeline.runner import ReconciliationError, run

pytestmark = pytest.mark.spark
FILTER_REASONS = {reasons.FILE_TOO_LARGE, reasons.TOO_MANY_LINES, reasons.AVG_LINE_TOO_LONG,
                  reasons.MAX_LINE_TOO_LONG, reasons.LOW_ALNUM_FRACTION}
ALL_STAGES = list(STAGES)
DUP_REASONS = {"exact": reasons.EXACT_DUPLICATE, "near": reasons.NEAR_DUPLICATE, "segments": reasons.SEGMENT_DUPLICATE}


def _table(uri: str):
    return pq.read_table(uri.replace("file://", ""))


def _stage(summary: dict, name: str) -> dict:
    return next(s for s in summary["stages"] if s["name"] == name)


@pytest.fixture(scope="module")
def mixed(mixed_corpus):
    return mixed_corpus


@pytest.fixture(scope="module")
def mixed_run(spark, mixed, tmp_path_factory):
    from common import typed_config
    from pipeline.config import PipelineConfig
    from tests.conftest import TEST_SPARK

    root, _ = mixed
    out = tmp_path_factory.mktemp("mixed_run") / "run"
    cfg = typed_config.load(PipelineConfig, None, [f"run.inputs=corpus={root}", f"run.output={out}",
                                                   f"spark.master={TEST_SPARK.master}",
                                                   "resample.weights={Markdown: 0.0}"])  # guide.md: drawn out
    return cfg, run(cfg, spark)


def _resolve_duplicates(expect: dict, summary: dict, cfg) -> dict:
    """Within each "dup:<stage>" group, the copy with the best quality score (then the smallest id) is kept; then
    resampling keeps a file as its language's weight and the file's draw say."""
    from pipeline.resample.weights import draw, repeats

    # the row pass's last stage: every file that reached dedup, with its quality score
    quality = _table(_stage(summary, "decontam")["kept_table"]).select(["path", "id", "quality_score", "language"])
    by_path = {r["path"]: r for r in quality.to_pylist()}
    out = dict(expect)
    for group in {v for v in expect.values() if v.startswith("dup:")}:
        paths = [p for p, v in expect.items() if v == group]
        best = min(paths, key=lambda p: (-by_path[p]["quality_score"], by_path[p]["id"]))
        stage = group.split(":")[1]
        for p in paths:
            out[p] = "kept" if p == best else DUP_REASONS[stage]
    for p, v in out.items():
        if v == "kept":
            weight = cfg.resample.weights.get(by_path[p]["language"], 1.0)
            if repeats(weight, draw(by_path[p]["id"], cfg.resample.seed)) == 0:
                out[p] = reasons.DOWNSAMPLED
    return out


def test_every_hostile_file_ends_in_its_reason(mixed, mixed_run):
    _, expect = mixed
    cfg, summary = mixed_run
    ingest = _stage(summary, "ingest")
    got: dict[str, str] = {}
    for name in [s for s in ALL_STAGES if s != "sft"]:
        if not _stage(summary, name)["rejected"]:  # a stage that rejects nothing writes no status=rejected part
            continue
        for row in _table(_stage(summary, name)["rejected_table"]).select(["path", "reject_reason"]).to_pylist():
            got[row["path"]] = row["reject_reason"]
    final = _table(summary["final_table"])
    for path in final.column("path").to_pylist():
        got[path] = "kept"
    assert got == _resolve_duplicates(expect, summary, cfg)
    quality = _table(_stage(summary, "decontam")["kept_table"])
    scored = dict(zip(quality.column("path").to_pylist(), quality.column("quality_scored").to_pylist()))
    assert scored["docs/guide.md"] is False and scored["src/add.py"] is True  # Markdown passes through unscored
    assert ingest["kept_by"] == {} and _stage(summary, "quality")["kept_by"]["quality_scored"]["false"] >= 1


def test_secrets_are_replaced_and_counted(mixed_run):
    _, summary = mixed_run
    rows = {r["path"]: r for r in _table(summary["final_table"]).to_pylist()}
    settings = rows["conf/settings.py"]
    assert 'OWNER_EMAIL = "<EMAIL>"' in settings["content"] and 'AWS_ACCESS_KEY_ID = "<KEY>"' in settings["content"]
    assert (settings["pii_email"], settings["pii_key"]) == (1, 1)
    assert rows["src/main.c"]["pii_email"] == 0
    assert settings["content_sha256"] == hashlib.sha256(settings["content"].encode()).hexdigest()
    sums = _stage(summary, "privacy")["kept_sums"]  # the run table's totals, measured from the written Parquet
    assert sums["pii_email"] == {"total": 1, "rows": 1} and sums["pii_key"] == {"total": 1, "rows": 1}
    assert sums["pii_private_key"] == {"total": 0, "rows": 0}
    assert "total:    pii_email" in stage_table(summary)


def test_duplicates_name_the_copy_that_was_kept(mixed_run):
    _, summary = mixed_run
    kept_ids = set(_table(summary["final_table"]).column("id").to_pylist())
    for name, prefix in (("exact", "same content as "), ("near", "near-duplicate of ")):
        for row in _table(_stage(summary, name)["rejected_table"]).to_pylist():
            kept = row["reject_detail"][len(prefix):].split(" ")[0]
            assert row["reject_detail"].startswith(prefix) and kept in kept_ids
    near = _stage(summary, "near")["stats"]
    assert near["bands"] * near["rows"] <= 256 and near["edges"] >= 1 and near["components_on"] == "driver"
    segs = _stage(summary, "segments")
    assert "first seen in" in _table(segs["rejected_table"]).column("reject_detail")[0].as_py()
    assert segs["stats"]["segment_duplication_by_language"]["Python"]["duplicates"] >= 2


def test_rows_reconcile_and_nothing_is_lost(mixed, mixed_run):
    _, expect = mixed
    _, summary = mixed_run
    ingest, filt, quality, sft = (_stage(summary, n) for n in ("ingest", "filter", "quality", "sft"))
    assert ingest["rows_in"] == len(expect) == ingest["kept"] + ingest["rejected"]
    assert filt["rows_in"] == ingest["kept"] == filt["kept"] + filt["rejected"]
    assert quality["rows_in"] == filt["kept"] == quality["kept"] + quality["rejected"]
    chain = [s for s in ALL_STAGES if s != "sft"]
    for before, name in zip(chain[2:], chain[3:]):
        assert _stage(summary, name)["rows_in"] == _stage(summary, before)["kept"] == \
            _stage(summary, name)["kept"] + _stage(summary, name)["rejected"]
    assert sft["rows_in"] == sft["kept"] + sft["rejected"] > 0
    assert set(filt["rejected_by_reason"]) == FILTER_REASONS
    rejects = _table(summary["rejects_table"])
    assert rejects.num_rows == sum(s["rejected"] for s in summary["stages"])
    # every stage that can reject rejected something (privacy replaces, never rejects)
    assert sorted(set(rejects.column("stage").to_pylist())) == sorted(s for s in ALL_STAGES if s != "privacy")
    assert rejects.schema.names == ["id", "source", "path", "stage", "reason", "detail"]


def test_sft_pairs_and_chatml_from_the_documented_file(mixed_run):
    _, summary = mixed_run
    sft = _stage(summary, "sft")
    pairs = {r["function_name"]: r for r in _table(sft["path"] + "/status=kept").to_pylist()
             + _table(sft["path"] + "/status=rejected").to_pylist() if r["path"] == "src/geometry.py"}
    assert pairs["area"]["reject_reason"] is None and pairs["area"]["comment"] == "Return the area of a width x " \
                                                                                 "height rectangle."
    assert pairs["getWidth"]["reject_reason"] == reasons.SFT_ACCESSOR
    assert pairs["todo"]["reject_reason"] == reasons.SFT_TODO_ONLY
    chat = _table(sft["extra_tables"]["chatml"])
    area = [r for r in chat.to_pylist() if r["pair_id"] == pairs["area"]["id"]]
    assert sorted(r["task"] for r in area) == ["annotate", "explain", "generate"]
    assert all([m["role"] for m in r["messages"]] == ["system", "human", "bot"] for r in area)
    assert summary["final_table"].endswith("/resample/status=kept")


def test_run_json_names_every_table(mixed_run):
    cfg, summary = mixed_run
    on_disk = json.loads((Path(cfg.run.output) / "run.json").read_text())
    assert on_disk == summary and on_disk["finished"] is True
    assert on_disk["final_table"].endswith("/resample/status=kept")
    # the row pass (filter..decontam) writes the kept rows of its last stage only
    assert [s["name"] for s in on_disk["stages"] if s["kept_table"] is None] == ["filter", "quality", "privacy",
                                                                                  "detox"]
    for stage in on_disk["stages"]:
        assert stage["kept_table"] is None or Path(stage["kept_table"].replace("file://", "")).is_dir()
        assert (Path(stage["path"].replace("file://", "")) / "_SUCCESS").exists()
    assert "filter:" in (Path(cfg.run.output) / "config.yaml").read_text()


ROW_STAGES = ["filter", "quality", "privacy", "detox", "decontam"]


def _left(summary: dict, name: str) -> list[tuple]:
    if not _stage(summary, name)["rejected"]:
        return []
    rows = _table(_stage(summary, name)["rejected_table"]).select(["id", "reject_reason", "reject_detail"])
    return sorted(tuple(r.values()) for r in rows.to_pylist())


def test_the_row_pass_gives_what_the_stages_one_by_one_give(spark, mixed_run, make_cfg, tmp_path):
    """Same kept rows, same rejects per stage with reason and detail, same run-table figures as a run with one job
    and one table per stage. (The MB figures are rounded to 0.001: privacy's few changed bytes do not show.)"""
    cfg, fused = mixed_run
    apart = run(make_cfg(cfg.run.inputs, "run.fuse_row_stages=false", "resample.weights={Markdown: 0.0}",
                         "run.stages=ingest," + ",".join(ROW_STAGES), "run.report=false", output=tmp_path / "apart"),
                spark)
    assert all(_stage(apart, n)["kept_table"] for n in ROW_STAGES)  # one table per stage
    assert all("row_pass" not in _stage(apart, n)["stats"] for n in ROW_STAGES)
    for name in ROW_STAGES:
        one, other = _stage(fused, name), _stage(apart, name)
        assert one["stats"] == {"row_pass": "filter..decontam"}
        for key in ("rows_in", "kept", "rejected", "rejected_by_reason", "kept_by", "kept_sums", "mb_in", "mb_kept",
                    "rejected_mb_by_reason"):
            assert one[key] == other[key], (name, key)
        assert _left(fused, name) == _left(apart, name), name
    kept = [_table(s["kept_table"]).sort_by("id") for s in (_stage(fused, "decontam"), _stage(apart, "decontam"))]
    assert kept[0].num_rows >= 10 and kept[0].to_pylist() == kept[1].select(kept[0].schema.names).to_pylist()
    assert kept[0].schema == kept[1].schema
    assert max(kept[0].column("pii_email").to_pylist()) >= 1  # privacy rewrote a row the pass kept
    assert sum(_stage(fused, n)["seconds"] for n in ROW_STAGES) == _stage(fused, "decontam")["seconds"] > 0
    lines = {line.split()[0]: line.split() for line in stage_table(fused).splitlines()[2:] if not line.startswith(" ")}
    assert [lines[n][-1] for n in ROW_STAGES[:-1]] == ["-"] * 4 and float(lines["decontam"][-1]) > 0


def test_a_stage_inside_a_finished_row_pass_cannot_be_fed_alone(spark, mixed_run, make_cfg):
    cfg, _ = mixed_run
    with pytest.raises(ConfigError, match="'detox' reads the kept rows of 'privacy', which ran in one pass"):
        run(make_cfg([], "run.stages=detox", output=cfg.run.output), spark)
    with pytest.raises(ConfigError, match="'privacy' reads the kept rows of 'quality'.*run.fuse_row_stages=false"):
        run(make_cfg([], "run.stages=privacy,detox", output=cfg.run.output), spark)


def test_rerun_skips_and_rethreshold_reruns_only_filter(spark, mixed_run, make_cfg, mixed):
    cfg, first = mixed_run
    again = run(cfg, spark)
    assert [s["status"] for s in again["stages"]] == ["skipped"] * len(ALL_STAGES)
    assert [s["kept"] for s in again["stages"]] == [s["kept"] for s in first["stages"]]
    import dataclasses
    looser = dataclasses.replace(cfg, filter=dataclasses.replace(cfg.filter, max_lines=20_000))
    third = run(looser, spark)
    assert [s["status"] for s in third["stages"]] == ["skipped"] + ["ran"] * (len(ALL_STAGES) - 1)
    assert reasons.TOO_MANY_LINES not in _stage(third, "filter")["rejected_by_reason"]
    assert _stage(third, "filter")["kept"] == _stage(first, "filter")["kept"] + 1


def test_two_runs_write_identical_parquet(spark, mixed, mixed_default_run, make_cfg, tmp_path):
    """A second run of the session's default run (same input, same settings, a new output folder) writes the same
    rows in the same part files."""
    root, _ = mixed
    tables = []
    for summary in (mixed_default_run[1], run(make_cfg([f"corpus={root}"], output=tmp_path / "b"), spark)):
        for stage in summary["stages"]:
            for key in ("kept_table", "rejected_table"):
                if stage[key] is None:  # a row pass's stage before its last
                    continue
                folder = Path(stage[key].replace("file://", ""))
                assert folder.is_dir() or (key == "rejected_table" and not stage["rejected"])
                parts = sorted(p for p in folder.glob("part-*"))
                tables.append((stage["name"], key, [pq.read_table(p).to_pylist() for p in parts]))
    half = len(tables) // 2
    assert tables[:half] == tables[half:]


def test_crash_before_commit_leaves_no_success(spark, mixed, make_cfg, monkeypatch):
    from pipeline.spark import commit

    root, _ = mixed
    cfg = make_cfg([f"corpus={root}"], "run.stages=ingest")  # the first stage's commit is the one under test

    def boom(*a, **k):
        raise RuntimeError("simulated crash after the Parquet write")
    monkeypatch.setattr(commit, "measure", boom)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(cfg, spark)
    out = Path(cfg.run.output)
    assert not (out / "ingest").exists()
    assert not list(out.rglob("_SUCCESS"))
    monkeypatch.undo()
    summary = run(cfg, spark)
    assert _stage(summary, "ingest")["status"] == "ran" and (out / "ingest" / "_SUCCESS").exists()


def test_a_stage_that_loses_rows_fails_reconciliation(spark, mixed_run, make_cfg, monkeypatch):
    from pipeline import runner
    from pipeline.filter import FileFilter

    cfg, _ = mixed_run

    class Lossy(FileFilter):
        reads = None  # whole rows through mapInArrow, where a stage could drop some

        def apply(self, batch):
            return super().apply(batch).slice(1)
    monkeypatch.setattr(runner, "batch_stage", lambda name, c: Lossy(c.filter))
    run(make_cfg(cfg.run.inputs, "run.stages=ingest"), spark)
    lossy = make_cfg(cfg.run.inputs, "filter.max_lines=123", "run.stages=ingest,filter")
    with pytest.raises(ReconciliationError, match="rows in"):
        run(lossy, spark)
    assert not (Path(lossy.run.output) / "filter" / "_SUCCESS").exists()

    class LossyColumns(Lossy):
        reads = FileFilter.reads  # as an Arrow UDF, Spark itself refuses a result of the wrong length
    monkeypatch.setattr(runner, "batch_stage", lambda name, c: LossyColumns(c.filter))
    with pytest.raises(Exception, match="not the required length"):
        run(make_cfg(cfg.run.inputs, "filter.max_lines=124", "run.stages=ingest,filter"), spark)
    assert not (Path(lossy.run.output) / "filter" / "_SUCCESS").exists()
    # in a row pass the stage's lost row shows in the pass's one write: nothing of the pass is committed
    real = runner.batch_stage
    monkeypatch.setattr(runner, "batch_stage", lambda name, c: Lossy(c.filter) if name == "filter" else real(name, c))
    with pytest.raises(ReconciliationError, match="row pass filter..quality: .* rows in"):
        run(make_cfg(cfg.run.inputs, "filter.max_lines=125", "run.stages=ingest,filter,quality"), spark)
    assert not [n for n in ("filter", "quality") if (Path(lossy.run.output) / n / "_SUCCESS").exists()]


def test_filter_alone_needs_a_finished_ingest_or_a_table(spark, mixed_run, make_cfg, tmp_path):
    with pytest.raises(ConfigError, match="add 'ingest' to run.stages or give --input"):
        run(make_cfg([], "run.stages=filter", output=tmp_path / "empty"), spark)
    _, summary = mixed_run
    ingest_kept = _stage(summary, "ingest")["kept_table"]
    alone = run(make_cfg([ingest_kept], "run.stages=filter", "run.report=false", output=tmp_path / "alone"), spark)
    assert _stage(alone, "filter")["kept"] == _stage(summary, "filter")["kept"]
    # run.report=false (the data DAG's stage steps): no rejects table, no portrait, the run not called finished
    assert not alone["finished"] and alone["rejects_table"] is None
    assert not (tmp_path / "alone" / "rejects").exists() and not (tmp_path / "alone" / "report.html").exists()
    from pipeline.report import where_outputs_are
    lines = where_outputs_are(alone).splitlines()
    assert "rejects:        not built (run.report=false)" in lines
    assert "data portrait:  not built (run.report=false)" in lines


def test_rejected_content_can_be_dropped(spark, mixed, make_cfg):
    root, _ = mixed
    summary = run(make_cfg([f"corpus={root}"], "run.keep_rejected_content=false", "run.stages=ingest,filter"), spark)
    rejected = _table(_stage(summary, "filter")["rejected_table"])
    assert rejected.num_rows > 0 and rejected.column("content").null_count == rejected.num_rows
    kept = _table(_stage(summary, "filter")["kept_table"])
    assert kept.column("content").null_count == 0
    # the same in a row pass's one write
    summary = run(make_cfg([f"corpus={root}"], "run.keep_rejected_content=false", "run.stages=ingest,filter,quality"),
                  spark)
    for name in ("filter", "quality"):
        rejected = _table(_stage(summary, name)["rejected_table"])
        assert rejected.num_rows > 0 and rejected.column("content").null_count == rejected.num_rows
    assert _table(_stage(summary, "quality")["kept_table"]).column("content").null_count == 0


def test_datasets_jsonl_and_parquet(spark, make_cfg, tmp_path):
    import pyarrow as pa

    jsonl = tmp_path / "stack.jsonl"
    lines = [json.dumps({"content": "def f():\n    return 1\n", "path": "a/f.py", "repo_name": "r1"}),
             "{not json", json.dumps({"path": "b.py"}), "",
             json.dumps({"content": "int main() { return 0; }\n", "path": "m.c", "repo_name": "r2"})]
    jsonl.write_text("\n".join(lines) + "\n")
    parquet = tmp_path / "stack.parquet"
    pq.write_table(pa.table({"content": ["package main\n\nfunc main() {}\n", None],
                             "max_stars_repo_path": ["cmd/main.go", "x.go"]}), parquet)
    with pytest.raises(ConfigError, match="no column 'path'.*set ingest.dataset"):
        run(make_cfg([f"p={parquet}"], "run.stages=ingest", output=tmp_path / "bad"), spark)
    run_j = run(make_cfg([f"j={jsonl}"], "run.stages=ingest", output=tmp_path / "j"), spark)
    got = _table(_stage(run_j, "ingest")["path"].replace("/ingest", "/ingest/status=rejected"))
    assert sorted(got.column("reject_reason").to_pylist()) == [reasons.BAD_RECORD, reasons.MISSING_FIELD]
    kept = _table(_stage(run_j, "ingest")["kept_table"]).sort_by("path")
    assert kept.column("language").to_pylist() == ["Python", "C"]
    assert kept.column("repo").to_pylist() == ["r1", "r2"]
    run_p = run(make_cfg([f"p={parquet}"], "run.stages=ingest", "ingest.dataset.path=max_stars_repo_path",
                         output=tmp_path / "p"), spark)
    ingest = _stage(run_p, "ingest")
    assert (ingest["kept"], ingest["rejected_by_reason"]) == (1, {reasons.MISSING_FIELD: 1})
