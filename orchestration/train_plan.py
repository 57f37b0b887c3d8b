"""The training DAG's trigger form -> validated values -> the JobSpec and supervision policy (no Airflow here)."""
from __future__ import annotations

import json
import re
import typing
from pathlib import Path

from common.form import (
    ParamError,
    allowed_roots,
    check_path,
    check_run_name,
    check_value,
    option_schema,
    run_folder_name,
    with_defaults,
)
from train.launch.job import JobSpec
from train.launch.supervisor import Policy

BACKENDS = ("local", "slurm")
_SLURM_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_TIME_LIMIT = re.compile(r"(\d+-)?\d{1,3}(:\d{2}){0,2}")
# keys the DAG sets itself: an override may not move the run's folder or its data
_DAG_KEYS = ("run.output", "data.manifest", "checkpoint.dir")


# trigger-form param -> the trainer key it sets; type, help, range and choices come from train/config.py's options,
# and the form's empty value ("" or 0) keeps the preset's
TRAINER_PARAMS = {
    "flavor": "model.flavor",
    "tensor_parallel": "parallel.tensor",
    "dtype": "precision.dtype",
    "micro_batch": "batch.micro_batch",
    "global_batch": "batch.global_batch",
    "lr": "optimizer.lr",
    "max_steps": "schedule.max_steps",
    "checkpoint_every": "checkpoint.every_steps",
}


def _trainer_param(key: str) -> dict:
    from train.config import TrainConfig

    schema = option_schema(TrainConfig, key)
    unset = {"string": "", "integer": 0, "number": 0.0}[schema["type"]]
    if "enum" in schema:
        schema["enum"] = [unset, *schema["enum"]]
    if schema.get("minimum", unset) > unset:
        schema["minimum"] = unset
    return {**schema, "default": unset,
            "description": f"{schema['description']}; on this form {'empty' if unset == '' else '0'} keeps "
                           f"the preset's value"}


def param_schemas() -> dict[str, dict]:
    from train.config import PRESETS

    return {
        "manifest": {"default": "", "type": "string", "maxLength": 4096,
                     "description": "absolute path of the token shards' manifest.json; empty = the one in the "
                                    "codefuse_token_shards Asset event that triggered this run"},
        "output_root": {"default": "", "type": "string", "maxLength": 4096,
                        "description": "folder for training runs (<output_root>/<run_name or run id>); empty = "
                                       "<data run>/train beside the shards"},
        "run_name": {"default": "", "type": "string", "maxLength": 64,
                     "description": "names the run folder; the same name resumes that run from its checkpoints"},
        "preset": {"default": "debug", "type": "string", "enum": list(PRESETS),
                   "description": "training recipe (train/config.py PRESETS); the trainer keys below override it"},
        **{name: _trainer_param(key) for name, key in TRAINER_PARAMS.items()},
        "nodes": {"default": 1, "type": "integer", "minimum": 1, "maximum": 4096,
                  "description": "machines, each running gpus_per_node processes (more than 1 needs slurm)"},
        "gpus_per_node": {"default": 1, "type": "integer", "minimum": 1, "maximum": 16,
                          "description": "processes per node: GPUs, or CPU processes where there is no GPU"},
        "backend": {"default": "local", "type": "string", "enum": list(BACKENDS),
                    "description": "local: the deepspeed launcher on the worker's machine; slurm: sbatch"},
        "max_restarts": {"default": 3, "type": "integer", "minimum": 0, "maximum": 100,
                         "description": "restarts from the newest checkpoint after a failure or hang"},
        "hang_minutes": {"default": 30.0, "type": "number", "minimum": 0.1, "maximum": 1440,
                         "description": "a running job that completes no step for this long is hung"},
        "startup_minutes": {"default": 60.0, "type": "number", "minimum": 0.1, "maximum": 1440,
                            "description": "time allowed until the first step of each attempt"},
        "overrides": {"default": [], "type": "array", "maxItems": 64,
                      "items": {"type": "string", "minLength": 3, "maxLength": 512},
                      "description": "more trainer settings as KEY=VALUE (python -m train --help-config)"},
        "slurm_partition": {"default": "", "type": "string", "maxLength": 64,
                            "description": "sbatch --partition; empty = the cluster's default"},
        "slurm_gpus": {"default": True, "type": "boolean",
                       "description": "request --gpus-per-node=gpus_per_node (off for CPU-only partitions)"},
        "slurm_time_limit": {"default": "", "type": "string", "maxLength": 16,
                             "description": "sbatch --time, e.g. 2-00:00:00; empty = the partition's"},
        "evaluate": {"default": True, "type": "boolean", "description": "run the evaluation after export"},
        "eval_benchmark": {"default": "humaneval", "type": "string", "maxLength": 4096,
                           "description": "humaneval, humaneval-rust, or an absolute path of a JSONL problem file "
                                          "under the allowed roots"},
        "eval_mode": {"default": "greedy", "type": "string", "enum": ["greedy", "sample", "beam"]},
        "eval_samples": {"default": 1, "type": "integer", "minimum": 1, "maximum": 200,
                         "description": "completions per problem (sample mode; the paper: 10 at T=0.2)"},
        "eval_limit": {"default": 0, "type": "integer", "minimum": 0,
                       "description": "evaluate the first N problems only; 0 = all"},
        "eval_max_new_tokens": {"default": 256, "type": "integer", "minimum": 1, "maximum": 4096},
    }


def _keys() -> set[str]:
    from common import typed_config
    from train.config import TrainConfig

    return {k for k, _, _ in typed_config.describe(TrainConfig)}


def _overrides(items: list[str], dag_keys: typing.Sequence[str] = _DAG_KEYS) -> list[str]:
    keys, out = _keys(), []
    for i, item in enumerate(items):
        key, sep, value = item.partition("=")
        if not sep or key not in keys:
            raise ParamError(f"param 'overrides[{i}]': {item!r} is not KEY=VALUE with a trainer key")
        if key in dag_keys:
            raise ParamError(f"param 'overrides[{i}]': {key} is set by the DAG (use the form's own field)")
        if any(not c.isprintable() for c in value):
            raise ParamError(f"param 'overrides[{i}]': control characters in {item!r}")
        out.append(item)
    return out


def check_form(conf: typing.Mapping[str, typing.Any], schemas: dict[str, dict],
               env: typing.Mapping[str, str] | None = None, paths: typing.Sequence[str] = ("output_root",),
               dag_keys: typing.Sequence[str] = _DAG_KEYS) -> tuple[dict[str, typing.Any], list[Path]]:
    """(values, allowed roots): every param of `schemas` typed and ranged, the `paths` params (when not empty) under
    the allowed roots, overrides, eval benchmark and Slurm words checked. `manifest` is left to the caller (it may
    come from an Asset event)."""
    v = with_defaults(conf, schemas)
    for name in schemas:
        if name not in ("manifest", "run_name", "overrides", "eval_benchmark", *paths):
            v[name] = check_value(name, v[name], schemas[name])
    roots = allowed_roots(env)
    for name in paths:
        if v[name]:
            v[name] = check_path(name, v[name], roots)
    check_run_name(v["run_name"])
    if not isinstance(v["overrides"], list):
        raise ParamError(f"param 'overrides': expected a list, got {v['overrides']!r}")
    v["overrides"] = _overrides([check_value(f"overrides[{i}]", x, schemas["overrides"]["items"])
                                 for i, x in enumerate(v["overrides"])], dag_keys)
    if v["eval_benchmark"] not in ("humaneval", "humaneval-rust"):
        v["eval_benchmark"] = check_path("eval_benchmark", v["eval_benchmark"], roots)
    if v["slurm_partition"] and not _SLURM_WORD.fullmatch(v["slurm_partition"]):
        raise ParamError(f"param 'slurm_partition': {v['slurm_partition']!r} is not a partition name")
    if v["slurm_time_limit"] and not _TIME_LIMIT.fullmatch(v["slurm_time_limit"]):
        raise ParamError(f"param 'slurm_time_limit': {v['slurm_time_limit']!r} is not D-HH:MM:SS / HH:MM:SS / MM")
    if v["backend"] == "local" and v["nodes"] != 1:
        raise ParamError(f"param 'nodes': the local backend runs on one machine, got {v['nodes']} (use slurm)")
    return v, roots


def validate(conf: typing.Mapping[str, typing.Any], asset_manifest: str | None,
             env: typing.Mapping[str, str] | None = None) -> dict[str, typing.Any]:
    v, roots = check_form(conf, param_schemas(), env)
    manifest = v["manifest"] or asset_manifest
    if not manifest:
        raise ParamError("param 'manifest': empty, and no codefuse_token_shards Asset event triggered this run")
    v["manifest"] = check_path("manifest", manifest, roots)
    return v


def run_dir(v: typing.Mapping[str, typing.Any], run_id: str) -> str:
    """<output_root or <data run>/train>/<run_name or the run id made path-safe>."""
    root = Path(v["output_root"]) if v["output_root"] else Path(v["manifest"]).parent.parent / "train"
    return str(root / run_folder_name(v["run_name"], run_id))


def trainer_overrides(v: typing.Mapping[str, typing.Any], extra_sets: typing.Sequence[str] = ()) -> list[str]:
    sets = [f"data.manifest={v['manifest']}"]
    for name, key in TRAINER_PARAMS.items():
        if v[name] not in ("", 0):  # the form's empty value: the preset's stays
            sets.append(f"{key}={v[name] if isinstance(v[name], str) else json.dumps(v[name])}")
    # the export task writes <run>/hf from the newest checkpoint; the trainer's own export would do it twice
    return [*sets, *extra_sets, "run.export_hf=false", "logging.progress_bar=false", *v["overrides"]]


def plan(conf: typing.Mapping[str, typing.Any], run_id: str, asset_manifest: str | None = None,
         env: typing.Mapping[str, str] | None = None) -> dict[str, typing.Any]:
    """Validated values, the run folder and the job spec as plain JSON (an XCom)."""
    v = validate(conf, asset_manifest, env)
    return planned_job(v, run_dir(v, run_id))


def planned_job(v: dict[str, typing.Any], out: str, extra_sets: typing.Sequence[str] = ()) -> dict[str, typing.Any]:
    """The plan of validated values `v` training into `out`, after the trainer's own loader and cross-key rules
    accepted its settings (extra_sets: trainer keys the DAG sets besides the form's, before the overrides)."""
    from common import typed_config
    from train.config import check, grad_accum_steps, load

    sets = trainer_overrides(v, extra_sets)
    try:  # the trainer's own loader and cross-key rules agree now, not an hour into a queue
        cfg = load(v["preset"], None, [*sets, f"run.output={out}"])
        check(cfg)
        grad_accum_steps(cfg, v["nodes"] * v["gpus_per_node"])  # the layout fits this many GPUs
    except typed_config.ConfigError as e:
        raise ParamError(f"trainer config: {e}") from e
    if v["gpus_per_node"] % cfg.parallel.tensor:
        raise ParamError(f"param 'gpus_per_node': {v['gpus_per_node']} is not a multiple of the tensor-parallel "
                         f"degree {cfg.parallel.tensor} (a tensor-parallel group must sit inside one node)")
    return {"values": v, "run_dir": out, "overrides": sets,
            "policy": {"max_restarts": v["max_restarts"], "hang_seconds": v["hang_minutes"] * 60,
                       "startup_seconds": v["startup_minutes"] * 60}}


def job_spec(planned: typing.Mapping[str, typing.Any], python: str, env: dict[str, str] | None = None,
             exclude_hosts: typing.Sequence[str] = ()) -> JobSpec:
    v = planned["values"]
    return JobSpec(run_dir=planned["run_dir"], preset=v["preset"], overrides=tuple(planned["overrides"]),
                   nodes=v["nodes"], procs_per_node=v["gpus_per_node"], python=python,
                   env=tuple(sorted((env or {}).items())), exclude_hosts=tuple(exclude_hosts))


def policy(planned: typing.Mapping[str, typing.Any]) -> Policy:
    return Policy(**planned["policy"])
