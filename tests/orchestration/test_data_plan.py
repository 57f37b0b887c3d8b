"""Trigger params: schema from the config tree, hostile values refused, argv lists per stage (no Airflow needed)."""
import json
import os

import pytest

from common import typed_config
from common.form import ParamError
from orchestration import data_plan as args
from pipeline.cli import _parser
from pipeline.config import MIN_VOCAB_SIZE, PipelineConfig


@pytest.fixture
def roots(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "out").mkdir()
    return [tmp_path]


def _conf(tmp_path, **extra):
    return {"input_paths": [str(tmp_path / "data")], "output_root": str(tmp_path / "out"), **extra}


def test_schema_comes_from_the_config_tree():
    s = args.param_schemas()
    assert s["dedup_threshold"] == {**s["dedup_threshold"], "type": "number", "minimum": 0.05, "maximum": 1.0,
                                    "default": 0.85}
    assert s["seq_len"]["type"] == "integer" and s["seq_len"]["minimum"] == 8 and s["seq_len"]["default"] == 4096
    assert "Python" in s["languages"]["items"]["enum"] and s["languages"]["default"] == []
    assert s["vocab_size"]["minimum"] == MIN_VOCAB_SIZE == 2491  # what the tokenizer trainer needs
    json.dumps(s)  # plain JSON: what Airflow's trigger form renders


@pytest.mark.parametrize("bad", ["/tmp/x; rm -rf /", "$(rm -rf /)", "/data/`id`", "/data/a|b", "/data/{{ conf }}",
                                 "/data/a\nb", "relative/path", "-rf"])
def test_hostile_paths_are_refused(tmp_path, roots, bad):
    with pytest.raises(ParamError, match="input_paths\\[0\\]") as e:
        args.validate(_conf(tmp_path, input_paths=[bad]), roots)
    assert "not allowed in a path" in str(e.value) or "not an absolute path" in str(e.value)


def test_hostile_value_message_is_clear(tmp_path, roots):
    with pytest.raises(ParamError) as e:
        args.validate(_conf(tmp_path, output_root="/tmp/x; rm -rf /"), roots)
    assert str(e.value) == "param 'output_root': '/tmp/x; rm -rf /' contains ';', which is not allowed in a path"


@pytest.mark.parametrize("bad", ["/etc", "/", "{root}/../../etc", "{root}/link"])
def test_paths_outside_the_allowed_roots_are_refused(tmp_path, roots, bad):
    os.symlink("/etc", tmp_path / "link")
    with pytest.raises(ParamError, match="outside the allowed roots"):
        args.validate(_conf(tmp_path, output_root=bad.format(root=tmp_path)), roots)


def test_no_roots_configured_is_an_error():
    with pytest.raises(ParamError, match="PIPELINE_ALLOWED_ROOTS"):
        args.allowed_roots({})
    assert args.allowed_roots({"PIPELINE_ALLOWED_ROOTS": "/tmp:/srv"}) == [args.Path("/tmp"), args.Path("/srv")]


@pytest.mark.parametrize("name, value, msg", [
    ("dedup_threshold", 1.5, "above the maximum 1.0"), ("dedup_threshold", "0.8", "expected a number"),
    ("seq_len", 4, "below the minimum 8"), ("seq_len", 8.5, "expected an integer"), ("seq_len", True, "integer"),
    ("languages", ["Python", "Klingon"], "languages\\[1\\]': 'Klingon' is not one of"),
    ("languages", "Python", "expected a list"), ("run_name", "../x", "run_name"), ("bogus", 1, "unknown params"),
])
def test_types_ranges_and_enums_are_checked(tmp_path, roots, name, value, msg):
    with pytest.raises(ParamError, match=msg):
        args.validate(_conf(tmp_path, **{name: value}), roots)


def test_the_form_defaults_read_the_embedded_corpus_into_the_output_root_env(tmp_path, roots):
    env = {"PIPELINE_ALLOWED_ROOTS": str(tmp_path), "PIPELINE_OUTPUT_ROOT": str(tmp_path / "out")}
    plan = args.plan({}, "codefuse_data", "manual__1", env=env)  # what the UI's Trigger button sends untouched
    out = str(tmp_path / "out" / "codefuse_data" / "manual__1")
    assert plan["run_dir"] == out
    # no --input: the CLI reads the embedded corpus, for ingest and for the report step's re-run alike
    assert "--input" not in plan["ingest"] and "--input" not in plan["report"]
    assert _parser().parse_args(plan["ingest"]).input == []
    with pytest.raises(ParamError, match="param 'output_root': empty, and PIPELINE_OUTPUT_ROOT is not set"):
        args.validate({}, roots, env={})
    with pytest.raises(ParamError, match="param 'output_root': '/etc' is outside the allowed roots"):
        args.validate({}, roots, env={"PIPELINE_OUTPUT_ROOT": "/etc"})
    with pytest.raises(ParamError, match="input_paths"):
        args.validate(_conf(tmp_path, input_paths="/data"), roots)


def test_plan_gives_argv_lists_the_cli_accepts(tmp_path, roots):
    conf = _conf(tmp_path, languages=["Python", "C++"], seq_len=64, vocab_size=3000, dedup_threshold=0.9)
    plan = args.plan(conf, "codefuse_data", "manual__2026-11-26T12:00:00+00:00",
                     env={"PIPELINE_ALLOWED_ROOTS": str(tmp_path)})
    out = str(tmp_path / "out" / "codefuse_data" / "manual__2026-11-26T12_00_00_00_00")
    assert plan["run_dir"] == out
    assert plan["ingest"][:5] == ["run", "--stages", "ingest", "--output", out]
    assert plan["ingest"][5:7] == ["--input", str(tmp_path / "data")]
    # the row-local stages are one step: one spark-submit, one row pass
    assert "--input" not in plan["filter_to_decontam"]
    assert plan["filter_to_decontam"][2] == "filter,quality,privacy,detox,decontam"
    assert plan["report"][2] == ",".join(args.DATA_STAGES)
    # stage steps leave the rejects table and the portrait to the report step
    assert all(plan[s][-2:] == ["--set", "run.report=false"] for s in args.DATA_STEPS)
    assert "run.report=false" not in plan["report"]
    assert plan["tokenize"][:3] == ["tokenize", "--output", out]
    for step, argv in plan.items():
        if step == "run_dir":
            continue
        assert all(isinstance(a, str) for a in argv)
        parsed = _parser().parse_args(argv)  # the real CLI parser, and the real typed config loader
        cfg = typed_config.load(PipelineConfig, None, parsed.set)
        assert cfg.ingest.languages == ["Python", "C++"] and cfg.tokenize.seq_len == 64
        assert cfg.tokenizer.vocab_size == 3000 and cfg.dedup.threshold == 0.9


def test_run_name_names_the_folder(tmp_path, roots):
    values = args.validate(_conf(tmp_path, run_name="nightly-1"), roots)
    assert args.run_dir(values, "d", "manual__x") == str(tmp_path / "out" / "d" / "nightly-1")


def test_manifest_summary_refuses_a_missing_manifest(tmp_path):
    with pytest.raises(FileNotFoundError, match="tokenize step did not finish"):
        args.manifest_summary(str(tmp_path))
