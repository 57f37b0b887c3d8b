"""The fine-tuning form: init_from and the SFT manifest from the export's Asset event, hostile values refused, the
training form's trainer checks applied, quantize needing held-out rows."""
from __future__ import annotations

import pytest

from common.form import ParamError
from orchestration.finetune_plan import plan
from orchestration.train_plan import job_spec


@pytest.fixture
def env(tmp_path):
    data = tmp_path / "out" / "codefuse_data" / "r1"
    for folder in ("tokens", "sft_tokens", "heldout_tokens"):
        (data / folder).mkdir(parents=True)
        (data / folder / "manifest.json").write_text("{}")
    hf = data / "train" / "r1" / "hf"
    hf.mkdir(parents=True)
    (hf / "config.json").write_text('{"hidden_size": 128, "intermediate_size": 512}')
    event = {"hf": str(hf), "run_dir": str(hf.parent), "manifest": str(data / "tokens" / "manifest.json")}
    roots = {"PIPELINE_ALLOWED_ROOTS": str(tmp_path),
             "CODEFUSE_QUANTIZE_MANIFEST": str(data / "heldout_tokens" / "manifest.json")}
    return roots, event, data


def test_the_export_event_supplies_the_model_and_the_data_runs_sft_shards(env):
    roots, event, data = env
    p = plan({"max_steps": 30}, "asset_triggered__2026-12-06T10:00:00", event, roots)
    v = p["values"]
    assert v["init_from"] == event["hf"] and v["manifest"] == str(data / "sft_tokens" / "manifest.json")
    assert v["quantize_manifest"] == str(data / "heldout_tokens" / "manifest.json")  # from the environment
    assert p["run_dir"] == str(data / "finetune" / "asset_triggered__2026-12-06T10_00_00")
    assert p["quantize_dir"] == p["run_dir"] + "/int4" and p["heldout"] == str(data / "sft_tokens" / "heldout")
    assert p["overrides"][:3] == [f"data.manifest={v['manifest']}", "schedule.max_steps=30",
                                  f"sft.init_from={event['hf']}"]
    spec = job_spec(p, "/venv/bin/python")
    assert spec.preset == "sft" and spec.train_args()[-1] == f"run.output={p['run_dir']}"


def test_the_form_wins_over_the_event(env, tmp_path):
    roots, event, data = env
    run = data / "train" / "other"
    run.mkdir()
    (run / "config.yaml").write_text("{}")  # a training run folder: its newest checkpoint is the init
    p = plan({"init_from": str(run), "manifest": str(data / "tokens" / "manifest.json"), "quantize": False,
              "run_name": "again", "output_root": str(tmp_path / "ft")}, "manual__x", event, roots)
    assert p["values"]["init_from"] == str(run) and p["run_dir"] == str(tmp_path / "ft" / "again")


@pytest.mark.parametrize("conf, event, reason", [
    ({}, None, "no codefuse_model_export Asset event triggered this run"),
    ({"init_from": "/etc"}, "event", "outside the allowed roots"),
    ({"manifest": "/etc/passwd"}, "event", "outside the allowed roots"),
    ({"manifest": "$(reboot)"}, "event", "not allowed in a path"),
    ({"quantize_manifest": "/etc/passwd"}, "event", "outside the allowed roots"),
    ({"overrides": ["sft.init_from=/tmp/x"]}, "event", "set by the DAG"),
    ({"overrides": ["data.manifest=/tmp/x"]}, "event", "set by the DAG"),
    ({"overrides": ["batch.global_batch=7"]}, "event", "trainer config"),
    ({"quantize_group_size": 4}, "event", "below the minimum"),
    ({"quantize_group_size": 96}, "event", r"quantize_group_size': group size 96 does not divide .*\[128, 512\]"),
    ({"backend": "local", "nodes": 2}, "event", "local backend runs on one machine"),
    ({"epochs": 3}, "event", "unknown params"),
])
def test_hostile_or_wrong_values_are_refused_naming_the_param(env, conf, event, reason):
    roots, good_event, _ = env
    with pytest.raises(ParamError, match=reason):
        plan(conf, "manual__x", good_event if event else None, roots)


def test_init_from_must_be_a_model_and_quantize_needs_held_out_rows(env):
    roots, event, data = env
    with pytest.raises(ParamError, match="neither a Hugging Face folder"):
        plan({"init_from": str(data / "tokens")}, "manual__x", event, roots)
    no_env = {"PIPELINE_ALLOWED_ROOTS": roots["PIPELINE_ALLOWED_ROOTS"]}
    with pytest.raises(ParamError, match="quantize_manifest': empty .* set quantize=false"):
        plan({}, "manual__x", event, no_env)
    with pytest.raises(ParamError, match="the SFT manifest itself"):
        plan({"quantize_manifest": str(data / "sft_tokens" / "manifest.json")}, "manual__x", event, roots)
    assert plan({"quantize": False}, "manual__x", event, no_env)["values"]["quantize"] is False
