"""The training form: manifest from the form or the Asset event, hostile values refused, trainer keys checked."""
from __future__ import annotations

import pytest

from common.form import ParamError
from orchestration.train_plan import job_spec, plan, policy


@pytest.fixture
def env(tmp_path):
    tokens = tmp_path / "out" / "codefuse_data" / "r1" / "tokens"
    tokens.mkdir(parents=True)
    (tokens / "manifest.json").write_text("{}")
    return {"PIPELINE_ALLOWED_ROOTS": str(tmp_path)}, tokens / "manifest.json"


def test_the_asset_event_supplies_the_manifest_and_the_run_folder_sits_beside_the_data(env):
    roots, manifest = env
    p = plan({"max_steps": 40, "checkpoint_every": 10}, "asset_triggered__2026-11-26T10:00:00", str(manifest), roots)
    assert p["run_dir"] == str(manifest.parent.parent / "train" / "asset_triggered__2026-11-26T10_00_00")
    assert p["overrides"][:3] == [f"data.manifest={manifest}", "schedule.max_steps=40", "checkpoint.every_steps=10"]
    spec = job_spec(p, "/venv/bin/python")
    assert spec.preset == "debug" and spec.procs_per_node == 1 and spec.run_dir == p["run_dir"]
    assert spec.train_args()[-1] == f"run.output={p['run_dir']}"
    assert policy(p).max_restarts == 3 and policy(p).hang_seconds == 1800


def test_the_paper_layout_is_offered_and_validated_for_its_world_size(env):
    roots, manifest = env
    p = plan({"preset": "13B", "backend": "slurm", "nodes": 64, "gpus_per_node": 8}, "manual__x", str(manifest), roots)
    spec = job_spec(p, "/venv/bin/python")
    assert (spec.preset, spec.nodes, spec.procs_per_node) == ("13B", 64, 8)
    p = plan({"tensor_parallel": 2, "gpus_per_node": 2}, "manual__x", str(manifest), roots)
    assert "parallel.tensor=2" in p["overrides"]


def test_the_form_manifest_wins_over_the_event_and_run_name_picks_the_folder(env, tmp_path):
    roots, manifest = env
    p = plan({"manifest": str(manifest), "run_name": "again", "output_root": str(tmp_path / "runs")}, "manual__x",
             "/elsewhere/manifest.json", roots)
    assert p["values"]["manifest"] == str(manifest) and p["run_dir"] == str(tmp_path / "runs" / "again")


@pytest.mark.parametrize("conf, reason", [
    ({}, "no codefuse_token_shards Asset event"),
    ({"manifest": "/etc/passwd"}, "outside the allowed roots"),
    ({"manifest": "$(reboot)"}, "not allowed in a path"),
    ({"overrides": ["run.output=/tmp/x"]}, "set by the DAG"),
    ({"overrides": ["model.flavour=13B"]}, "not KEY=VALUE with a trainer key"),
    ({"overrides": ["batch.global_batch=7"]}, "trainer config"),
    ({"backend": "local", "nodes": 4}, "local backend runs on one machine"),
    ({"backend": "kubernetes"}, "not one of the allowed values"),
    ({"slurm_partition": "gpu; scancel -u root"}, "not a partition name"),
    ({"slurm_time_limit": "$(date)"}, "not D-HH:MM:SS"),
    ({"max_restarts": -1}, "below the minimum"),
    ({"flavor": "70B"}, "not one of the allowed values"),
    ({"gpus": 8}, "unknown params"),
    ({"tensor_parallel": 3}, "not one of the allowed values"),
    ({"preset": "13B"}, "world size 1 is not a multiple of parallel.tensor 2"),
    ({"preset": "13B", "backend": "slurm", "nodes": 128, "gpus_per_node": 8}, "batch.global_batch 4096"),
    ({"tensor_parallel": 2, "backend": "slurm", "nodes": 2, "gpus_per_node": 3, "overrides": ["batch.global_batch=12"]},
     "gpus_per_node': 3 is not a multiple of the tensor-parallel degree 2"),
])
def test_refused_values_name_the_param_and_the_reason(env, conf, reason):
    roots, manifest = env
    asset = None if conf == {} else str(manifest)
    with pytest.raises(ParamError, match=reason):
        plan(conf, "manual__x", asset, roots)


def test_trainer_params_take_type_help_range_and_choices_from_train_config():
    from common.typed_config import describe
    from model import FLAVORS
    from orchestration.train_plan import TRAINER_PARAMS, param_schemas
    from train.config import PRECISIONS, TrainConfig

    keys = {k for k, _, _ in describe(TrainConfig)}
    assert set(TRAINER_PARAMS.values()) <= keys
    s = param_schemas()
    # the option's choices with the form's empty value in front; its help text after the key
    assert s["flavor"]["enum"] == ["", *FLAVORS] and s["flavor"]["default"] == ""
    assert s["dtype"]["enum"] == ["", *PRECISIONS]
    assert s["dtype"]["description"].startswith("precision.dtype: training precision")
    # min=1 in train/config.py, lowered to 0 so the form's 0 (the preset's) is allowed
    assert (s["max_steps"]["type"], s["max_steps"]["minimum"], s["max_steps"]["default"]) == ("integer", 0, 0)
    assert s["lr"]["type"] == "number" and s["lr"]["default"] == 0.0
    assert "keeps the preset's value" in s["checkpoint_every"]["description"]


def test_set_trainer_params_become_overrides_the_trainer_loader_accepts(env):
    roots, manifest = env
    p = plan({"flavor": "350M", "dtype": "bf16", "micro_batch": 2, "global_batch": 16, "lr": 3e-4},
             "manual__x", str(manifest), roots)
    assert p["overrides"][1:6] == ["model.flavor=350M", "precision.dtype=bf16", "batch.micro_batch=2",
                                   "batch.global_batch=16", "optimizer.lr=0.0003"]
    from train.config import load

    cfg = load("debug", None, p["overrides"])
    assert (cfg.model.flavor, cfg.precision.dtype, cfg.batch.global_batch, cfg.optimizer.lr) == \
        ("350M", "bf16", 16, 3e-4)
    # unset params leave the preset's values: no override is written for them
    untouched = plan({}, "manual__y", str(manifest), roots)["overrides"]
    assert not any(o.split("=")[0] in ("model.flavor", "precision.dtype", "optimizer.lr") for o in untouched)


@pytest.mark.parametrize("conf, reason", [
    ({"dtype": "fp8"}, "not one of the allowed values"),
    ({"micro_batch": -1}, "below the minimum"),
    ({"lr": "high"}, "expected a number"),
    ({"global_batch": 6, "micro_batch": 4}, "not a multiple of batch.micro_batch"),
])
def test_trainer_params_are_checked_by_the_form_and_the_trainer(env, conf, reason):
    roots, manifest = env
    with pytest.raises(ParamError, match=reason):
        plan(conf, "manual__x", str(manifest), roots)
