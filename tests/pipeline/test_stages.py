"""The stage registry is the one place a stage is named: CLI commands, DAG steps, config choices and fingerprints."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from common.typed_config import ConfigError, fingerprint, load
from orchestration import data_plan
from pipeline.cli import COMMANDS, _parser
from pipeline.config import STAGES, PipelineConfig, RunConfig
from pipeline.report import where_outputs_are
from pipeline.stage import BatchStage
from pipeline.stages import (
    MAIN_STAGES,
    REGISTRY,
    STAGE_NAMES,
    batch_stage,
    in_pipeline_order,
    section,
    upstream_candidates,
)

ORDER = ("ingest", "filter", "quality", "privacy", "detox", "decontam", "exact", "near", "segments", "resample", "sft")


def _subcommands() -> list[str]:
    sub = next(a for a in _parser()._actions if a.dest == "command")
    return list(sub.choices)


def test_the_registry_keeps_the_pipeline_order():
    assert STAGE_NAMES == ORDER
    assert [n for n, s in REGISTRY.items() if s.source] == ["ingest"]
    assert [n for n, s in REGISTRY.items() if not s.main] == ["sft"]
    assert MAIN_STAGES == ORDER[:-1]


def test_cli_commands_follow_the_registry():
    assert tuple(COMMANDS) == ("run", *STAGE_NAMES)
    assert _subcommands()[:len(STAGE_NAMES) + 1] == ["run", *STAGE_NAMES]
    assert all(COMMANDS[name] == [name] for name in STAGE_NAMES)
    assert _parser().parse_args(["sft", "--output", "o"]).command == "sft"


def test_config_choices_follow_the_registry():
    stages = next(f for f in dataclasses.fields(RunConfig) if f.name == "stages")
    assert STAGES == STAGE_NAMES == stages.metadata["choices"]
    assert RunConfig().stages == list(STAGE_NAMES)
    with pytest.raises(ConfigError, match="'run.stages' got 'polish': must be one of \\['ingest', 'filter'"):
        load(PipelineConfig, None, ["run.stages=[ingest, polish]"])


def test_dag_steps_follow_the_registry(tmp_path):
    (tmp_path / "data").mkdir()
    conf = {"input_paths": [str(tmp_path / "data")], "output_root": str(tmp_path)}
    plan = data_plan.plan(conf, "codefuse_data", "manual__1", env={"PIPELINE_ALLOWED_ROOTS": str(tmp_path)})
    assert data_plan.DATA_STAGES == MAIN_STAGES
    steps = [k for k in plan if k != "run_dir"]
    assert steps == [*data_plan.DATA_STEPS, *data_plan.TOKEN_STEPS, "report"]
    assert [s for step in data_plan.DATA_STEPS.values() for s in step] == list(MAIN_STAGES)  # each stage once
    assert all(plan[name][:3] == ["run", "--stages", ",".join(stages)] for name, stages in data_plan.DATA_STEPS.items())
    assert plan["report"][2] == ",".join(MAIN_STAGES)  # the side table (sft) is not a data DAG step


def test_each_entry_builds_the_stage_of_its_name():
    cfg = PipelineConfig()
    for name, entry in REGISTRY.items():
        if entry.source:
            with pytest.raises(TypeError, match=f"stage '{name}' reads the raw inputs"):
                batch_stage(name, cfg)
            continue
        stage = batch_stage(name, cfg)
        assert isinstance(stage, BatchStage) and stage.name == name


def test_the_run_table_lists_side_tables_apart_from_the_kept_files():
    stages = [{"name": n, "kept_table": f"file:///r/{n}/status=kept", "extra_tables": {}} for n in STAGE_NAMES]
    summary = {"output": "file:///r", "final_table": "file:///r/resample/status=kept", "stages": stages,
               "rejects_table": "file:///r/rejects", "config": "file:///r/config.yaml"}
    lines = where_outputs_are(summary).splitlines()
    assert "kept files:     file:///r/resample/status=kept" in lines
    assert [line for line in lines if " kept:" in line] == ["sft kept:       file:///r/sft/status=kept"]


def test_a_side_stage_never_feeds_another():
    assert upstream_candidates("ingest") == []
    assert upstream_candidates("filter") == ["ingest"]
    assert upstream_candidates("sft") == list(reversed(MAIN_STAGES))
    assert in_pipeline_order(["sft", "near", "ingest", "near"]) == ["ingest", "near", "sft"]


# fingerprint(section) of the default config, computed with the code before the registry existed (commit 78331cd):
# a run folder finished then is skipped on rerun only while these hold. A deliberate change of a stage's section or
# of a default moves its value here, and every finished run reruns that stage.
PINNED = {
    "filter": "736f6da19af3c3918f6ff27c0ebfbdd3b67baa58588ce3c531412ff40aa4f6f3",
    "exact": "e10808d43975dc400731053386849f864f297e6c4f7519c380f3dbaf7067a840",
    "near": "fbe1debda2fac7db286a8c7caa2f4c3028abf9665d0fff6b9a0b5efb7289b4f4",
    "segments": "d40a1819043aa24f6681bff707195a40e4826d49895744655ab74f3cef1a8958",
    "sft": "6d0bb26d7fa1eba535ba69b6b0a044dc8d24e875ec84b04a410fbd54b7399bfe",
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_default_fingerprints_match_the_ones_from_before_the_registry(name):
    assert fingerprint(section(name, PipelineConfig())) == PINNED[name]


def test_sections_hold_only_what_decides_the_output():
    cfg = load(PipelineConfig, None, ["dedup.segment_min_lines=9", "quality.parse_budget_ms=99"])
    assert section("exact", cfg) == {}
    assert section("segments", cfg) == {"min_lines": 9, "max_dup_frac": 0.5, "parse_budget_ms": 99.0}
    assert section("sft", cfg) == {"sft": cfg.sft, "parse_budget_ms": 99.0}
    assert "segment_min_lines" not in section("near", cfg) and section("near", cfg)["threshold"] == 0.85
    assert section("filter", cfg) is cfg.filter


def test_config_and_dag_plan_import_no_stage_module():
    # pipeline/config.py takes its stage names from the registry, and the scheduler imports data_plan on every parse
    code = ("import sys, pipeline.config, orchestration.data_plan; "
            "print(sorted(m for m in sys.modules if m.startswith(('tree_sitter', 'pyarrow', 'pyspark')) or "
            "m in ('pipeline.filter', 'pipeline.quality.stage', 'pipeline.dedup.stages', 'pipeline.sft.stage')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "[]"
