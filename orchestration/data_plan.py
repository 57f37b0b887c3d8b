"""Trigger-form params -> validated values -> the argv list of each stage's pipeline call (no Airflow, no shell)."""
from __future__ import annotations

import json
import os
import re
import typing
from pathlib import Path

from common.form import (
    ROOTS_ENV,
    ParamError,
    allowed_roots,
    check_path,
    check_run_name,
    check_value,
    option_schema,
    run_folder_name,
    with_defaults,
)
from pipeline.config import PipelineConfig
from pipeline.stages import MAIN_STAGES, steps

OUTPUT_ENV = "PIPELINE_OUTPUT_ROOT"  # the output root when the form leaves it empty
# the data stages the DAG runs: the registry's main stages in pipeline order (side tables such as the sft pairs are
# not in the data DAG)
DATA_STAGES = MAIN_STAGES
# its tasks: one per stage, except the consecutive row-local stages, which are one task (one row pass, one
# spark-submit): task id -> the stages it runs
DATA_STEPS = {"_to_".join((step[0], step[-1])) if len(step) > 1 else step[0]: step for step in steps(list(DATA_STAGES))}
TOKEN_STEPS = ("tokenizer-train", "tokenize")
# trigger-form param -> the config key it sets; type, range, choices and default come from pipeline/config.py
CONFIG_PARAMS = {
    "languages": "ingest.languages",
    "max_file_bytes": "filter.max_file_bytes",
    "max_lines": "filter.max_lines",
    "max_avg_line_len": "filter.max_avg_line_len",
    "min_alnum_frac": "filter.min_alnum_frac",
    "max_line_len": "filter.max_line_len",
    "min_quality_score": "quality.min_score",
    "dedup_threshold": "dedup.threshold",
    "vocab_size": "tokenizer.vocab_size",
    "tokenizer_sample_mb": "tokenizer.code_sample_mb",
    "seq_len": "tokenize.seq_len",
    "shard_rows": "tokenize.shard_rows",
    "shuffle_partitions": "spark.shuffle_partitions",
}
MAX_INPUTS = 64


def param_schemas() -> dict[str, dict]:
    """Every trigger param as a JSON-schema dict with its default (what airflow.sdk.Param takes as keywords)."""
    out = {
        "input_paths": {"default": [], "type": "array", "maxItems": MAX_INPUTS,
                        "items": {"type": "string", "minLength": 1, "maxLength": 4096},
                        "description": f"absolute input paths (folders, archives, JSONL/Parquet) under the allowed "
                                       f"roots (${ROOTS_ENV}); empty: the embedded corpus (this machine's Python "
                                       f"standard library, C headers and site-packages, as `make run` reads)"},
        "output_root": {"default": "", "type": "string", "maxLength": 4096,
                        "description": f"absolute folder under the allowed roots (empty: ${OUTPUT_ENV}); the run "
                                       f"folder is <output_root>/<dag_id>/<run_name or run id>"},
        "run_name": {"default": "", "type": "string", "maxLength": 64,
                     "description": "names the run folder instead of the run id, so a new run can reuse (and skip) "
                                    "finished stages; letters, digits, . _ -"},
    }
    out.update({name: option_schema(PipelineConfig, key) for name, key in CONFIG_PARAMS.items()})
    return out


def validate(conf: typing.Mapping[str, typing.Any], roots: typing.Sequence[Path],
             env: typing.Mapping[str, str] | None = None) -> dict[str, typing.Any]:
    """Defaults < conf, every value type-, range- and choice-checked, paths resolved under `roots`; an empty
    output_root is ${PIPELINE_OUTPUT_ROOT} from `env` (default: os.environ)."""
    schemas = param_schemas()
    values = with_defaults(conf, schemas)
    for name in CONFIG_PARAMS:
        values[name] = check_value(name, values[name], schemas[name])
    inputs = values["input_paths"]
    if not isinstance(inputs, list) or len(inputs) > MAX_INPUTS:
        raise ParamError(f"param 'input_paths': expected a list of at most {MAX_INPUTS} paths, got {inputs!r}")
    values["input_paths"] = [check_path(f"input_paths[{i}]", p, roots) for i, p in enumerate(inputs)]
    if values["output_root"] == "":
        values["output_root"] = (os.environ if env is None else env).get(OUTPUT_ENV, "")
        if not values["output_root"]:
            raise ParamError(f"param 'output_root': empty, and {OUTPUT_ENV} is not set in the workers' environment")
    values["output_root"] = check_path("output_root", values["output_root"], roots)
    run_name = values["run_name"]
    check_run_name(run_name)
    return values


def run_dir(values: typing.Mapping[str, typing.Any], dag_id: str, run_id: str) -> str:
    """<output_root>/<dag_id>/<run_name or the run id made path-safe>: one folder per DAG run."""
    name = run_folder_name(values["run_name"], run_id)
    return str(Path(values["output_root"]) / re.sub(r"[^A-Za-z0-9._-]", "_", dag_id) / name)


def _sets(values: typing.Mapping[str, typing.Any]) -> list[str]:
    out: list[str] = []
    for name, key in CONFIG_PARAMS.items():
        out += ["--set", f"{key}={json.dumps(values[name])}"]  # JSON is YAML: the CLI reads it back typed
    return out


def stage_argv(step: str, values: typing.Mapping[str, typing.Any], out: str) -> list[str]:
    """The pipeline CLI's argv for one DAG step: a data stage, tokenizer-train, tokenize or report."""
    inputs = [a for p in values["input_paths"] for a in ("--input", p)]
    if step in DATA_STEPS:
        # the rejects table and the portrait once, in the report step, not after every stage
        stages = DATA_STEPS[step]
        return ["run", "--stages", ",".join(stages), "--output", out, *(inputs if "ingest" in stages else []),
                *_sets(values), "--set", "run.report=false"]
    if step in TOKEN_STEPS:
        return [step, "--output", out, *_sets(values)]
    if step == "report":
        # every data stage is finished with this config, so `run` skips them all and rewrites run.json (all stages)
        # and the data portrait
        return ["run", "--stages", ",".join(DATA_STAGES), "--output", out, *inputs, *_sets(values)]
    raise ValueError(f"unknown step {step!r}")


def plan(conf: typing.Mapping[str, typing.Any], dag_id: str, run_id: str,
         env: typing.Mapping[str, str] | None = None) -> dict[str, typing.Any]:
    """Everything a DAG run needs: the run folder and each step's argv, from the trigger conf."""
    values = validate(conf, allowed_roots(env), env)
    out = run_dir(values, dag_id, run_id)
    from common import typed_config

    try:  # the pipeline's own loader agrees, so no stage fails later on its config
        typed_config.load(PipelineConfig, None, _sets(values)[1::2])
    except typed_config.ConfigError as e:
        raise ParamError(str(e)) from e
    return {"run_dir": out, **{step: stage_argv(step, values, out) for step in (*DATA_STEPS, *TOKEN_STEPS, "report")}}


def manifest_summary(out: str) -> dict[str, typing.Any]:
    """What the published asset event carries: where the shard manifest is and what it holds."""
    from schemas.tokens import MANIFEST_NAME, Manifest

    path = Path(out) / "tokens" / MANIFEST_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no shard manifest at {path}: the tokenize step did not finish")
    manifest = Manifest.from_json(path.read_text())
    if not manifest.shards:
        raise ValueError(f"{path} lists no shards")
    return {"manifest": str(path), "shards": len(manifest.shards), "rows": manifest.total_rows,
            "tokens": manifest.total_tokens, "seq_len": manifest.seq_len, "vocab_size": manifest.vocab_size}
