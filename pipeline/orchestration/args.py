"""Trigger-form params -> validated values -> the argv list of each stage's pipeline call (no Airflow, no shell)."""
from __future__ import annotations

import dataclasses
import json
import os
import re
import typing
from pathlib import Path

from pipeline.config import PipelineConfig

ROOTS_ENV = "PIPELINE_ALLOWED_ROOTS"
OUTPUT_ENV = "PIPELINE_OUTPUT_ROOT"  # the output root when the form leaves it empty
# the data stages the DAG runs one task each, in pipeline order (sft is a side product, not in the data DAG)
DATA_STAGES = ("ingest", "filter", "quality", "privacy", "detox", "decontam", "exact", "near", "segments",
               "resample")
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
# characters refused in any path: shell syntax, globbing, quoting, Jinja braces, control characters
_BAD_PATH_CHARS = set(";&|$`<>(){}[]*?!#'\"\\~%^\n\r\t\0")
_RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class ParamError(ValueError):
    """A trigger value refused before anything runs; the message names the param and the reason."""


def _field(key: str) -> tuple[dataclasses.Field, typing.Any]:
    cls: typing.Any = PipelineConfig
    parts = key.split(".")
    for part in parts[:-1]:
        cls = typing.get_type_hints(cls)[part]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    return fields[parts[-1]], typing.get_type_hints(cls)[parts[-1]]


def _default(f: dataclasses.Field):
    return f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]


def _schema_of(key: str) -> dict:
    f, hint = _field(key)
    meta = f.metadata
    if typing.get_origin(hint) is list:
        item: dict = {"type": "string"}
        if meta.get("choices"):
            item["enum"] = list(meta["choices"])
        schema: dict = {"type": "array", "items": item, "uniqueItems": True}
    else:
        schema = {"type": {int: "integer", float: "number", bool: "boolean", str: "string"}[hint]}
        if meta.get("choices"):
            schema["enum"] = list(meta["choices"])
        if meta.get("min") is not None:
            schema["minimum"] = meta["min"]
        if meta.get("max") is not None:
            schema["maximum"] = meta["max"]
    return {"default": _default(f), "description": f"{key}: {meta['help']}", **schema}


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
    out.update({name: _schema_of(key) for name, key in CONFIG_PARAMS.items()})
    return out


def allowed_roots(env: typing.Mapping[str, str] | None = None) -> list[Path]:
    """Folders inputs and outputs must lie under: ${PIPELINE_ALLOWED_ROOTS}, separated by os.pathsep."""
    raw = (os.environ if env is None else env).get(ROOTS_ENV, "")
    roots = [Path(os.path.realpath(r)) for r in raw.split(os.pathsep) if r.strip()]
    if not roots:
        raise ParamError(f"no allowed roots: set {ROOTS_ENV} to the folders the pipeline may read and write")
    return roots


def check_path(name: str, value: typing.Any, roots: typing.Sequence[Path]) -> str:
    """An absolute local path with no shell or template syntax whose real location is under one of `roots`."""
    if not isinstance(value, str) or not value:
        raise ParamError(f"param '{name}': expected a non-empty path string, got {value!r}")
    bad = sorted({c for c in value if c in _BAD_PATH_CHARS or not c.isprintable()})
    if bad:
        raise ParamError(f"param '{name}': {value!r} contains {''.join(bad)!r}, which is not allowed in a path")
    if not value.startswith("/"):
        raise ParamError(f"param '{name}': {value!r} is not an absolute path")
    real = Path(os.path.realpath(value))
    if not any(real == r or r in real.parents for r in roots):
        raise ParamError(f"param '{name}': {value!r} is outside the allowed roots "
                         f"({', '.join(map(str, roots))}; set {ROOTS_ENV})")
    return str(real)


def check_value(name: str, value: typing.Any, schema: dict) -> typing.Any:
    kind = schema["type"]
    if kind == "array":
        if not isinstance(value, list):
            raise ParamError(f"param '{name}': expected a list, got {value!r}")
        if len(set(map(str, value))) != len(value):
            raise ParamError(f"param '{name}': repeated items in {value!r}")
        return [check_value(f"{name}[{i}]", v, schema["items"]) for i, v in enumerate(value)]
    if kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        raise ParamError(f"param '{name}': expected an integer, got {value!r}")
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamError(f"param '{name}': expected a number, got {value!r}")
        value = float(value)
    if kind == "string" and not isinstance(value, str):
        raise ParamError(f"param '{name}': expected a string, got {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        raise ParamError(f"param '{name}': {value!r} is not one of the allowed values")
    if "minimum" in schema and value < schema["minimum"]:
        raise ParamError(f"param '{name}': {value!r} is below the minimum {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        raise ParamError(f"param '{name}': {value!r} is above the maximum {schema['maximum']}")
    return value


def with_defaults(conf: typing.Mapping[str, typing.Any], schemas: dict[str, dict]) -> dict[str, typing.Any]:
    """Every param of `schemas`: the conf's value, else the default; a param the form does not have is refused."""
    unknown = sorted(set(conf) - set(schemas))
    if unknown:
        raise ParamError(f"unknown params {unknown} (known: {', '.join(schemas)})")
    return {name: conf.get(name, s["default"]) for name, s in schemas.items()}


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


def check_run_name(run_name: typing.Any) -> str:
    """The `run_name` param: empty, or one path-safe folder name."""
    if not isinstance(run_name, str) or (run_name and not _RUN_NAME.fullmatch(run_name)):
        raise ParamError(f"param 'run_name': {run_name!r} must be 1-64 letters, digits, '.', '_' or '-' "
                         f"(not starting with '.', '_' or '-')")
    return run_name


def run_folder_name(run_name: str, run_id: str) -> str:
    """The run's folder: run_name, else the Airflow run id made path-safe."""
    return run_name or re.sub(r"[^A-Za-z0-9._-]", "_", run_id).lstrip("._-") or "run"


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
    if step in DATA_STAGES:
        return ["run", "--stages", step, "--output", out, *(inputs if step == "ingest" else []), *_sets(values)]
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
    from pipeline import typed_config

    try:  # the pipeline's own loader agrees, so no stage fails later on its config
        typed_config.load(PipelineConfig, None, _sets(values)[1::2])
    except typed_config.ConfigError as e:
        raise ParamError(str(e)) from e
    steps = (*DATA_STAGES, *TOKEN_STEPS, "report")
    return {"run_dir": out, **{step: stage_argv(step, values, out) for step in steps}}


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
