"""The fine-tuning DAG's trigger form -> validated values -> the same job plan as training, plus the quantize and
per-task evaluation settings (no Airflow here). The training form's checks and job plan are reused, not copied."""
from __future__ import annotations

import typing
from pathlib import Path

from common.form import ParamError, check_path, run_folder_name
from orchestration.train_plan import _DAG_KEYS, check_form, planned_job
from orchestration.train_plan import param_schemas as train_schemas

# the tokenize stage's sft-mode output beside a data run's pretraining shards (<run>/tokens): pipeline/config.py
SFT_TOKENS = "sft_tokens"
# quantize_manifest's fallback where the form leaves it empty (an asset-triggered run takes the form's defaults)
QUANTIZE_MANIFEST_ENV = "CODEFUSE_QUANTIZE_MANIFEST"
PATHS = ("output_root", "init_from", "quantize_manifest")
DAG_KEYS = (*_DAG_KEYS, "sft.init_from")


def param_schemas() -> dict[str, dict]:
    s = train_schemas()
    s["manifest"] = {**s["manifest"], "description": "absolute path of the SFT shards' manifest.json (`python -m "
                     "pipeline tokenize` in sft mode); empty = <data run>/sft_tokens/manifest.json of the data the "
                     "triggering codefuse_model_export event's model was pretrained on"}
    s["output_root"] = {**s["output_root"], "description": "folder for fine-tuning runs (<output_root>/<run_name "
                        "or run id>); empty = <data run>/finetune beside the SFT shards"}
    s["preset"] = {**s["preset"], "default": "sft"}
    return {
        "manifest": s.pop("manifest"),
        "init_from": {"default": "", "type": "string", "maxLength": 4096,
                      "description": "sft.init_from: the pretrained Hugging Face folder or training run folder; "
                                     "empty = the hf folder of the codefuse_model_export event that triggered this "
                                     "run"},
        **s,
        "quantize": {"default": True, "type": "boolean",
                     "description": "int4 GPTQ of the fine-tuned export (python -m deploy quantize) into <run>/int4"},
        "quantize_manifest": {"default": "", "type": "string", "maxLength": 4096,
                              "description": "token manifest of held-out rows the model did not train on, "
                                             "tokenized with its tokenizer: they calibrate GPTQ and measure "
                                             f"perplexity before/after; empty = ${QUANTIZE_MANIFEST_ENV}"},
        "quantize_group_size": {"default": 128, "type": "integer", "minimum": 8, "maximum": 4096,
                                "description": "input columns sharing one int4 scale; must divide the hidden and "
                                               "ffn sizes (the debug flavor needs 32 or 64)"},
        "quantize_calib_rows": {"default": 128, "type": "integer", "minimum": 1, "maximum": 100000},
        "quantize_eval_rows": {"default": 64, "type": "integer", "minimum": 1, "maximum": 100000},
        "quantize_passk_limit": {"default": 0, "type": "integer", "minimum": 0,
                                 "description": "also greedy pass@1 before and after quantization on the first N "
                                                "HumanEval problems; 0 = none"},
        "eval_task_limit": {"default": 200, "type": "integer", "minimum": 1, "maximum": 100000,
                            "description": "held-out SFT samples scored (BLEU) per text task, first by id"},
        "eval_task_max_new_tokens": {"default": 128, "type": "integer", "minimum": 1, "maximum": 4096},
    }


def _event_value(event: typing.Mapping | None, key: str) -> str | None:
    value = (event or {}).get(key)
    return value if isinstance(value, str) and value else None


def validate(conf: typing.Mapping[str, typing.Any], event: typing.Mapping | None,
             env: typing.Mapping[str, str] | None = None) -> dict[str, typing.Any]:
    """The form's values, with init_from and the SFT manifest taken from the export event where the form leaves
    them empty; every path under the allowed roots."""
    import os

    env = os.environ if env is None else env
    v, roots = check_form(conf, param_schemas(), env, PATHS, DAG_KEYS)
    init = v["init_from"] or _event_value(event, "hf")
    if not init:
        raise ParamError("param 'init_from': empty, and no codefuse_model_export Asset event triggered this run")
    v["init_from"] = check_path("init_from", init, roots)
    if not ((Path(init) / "config.json").is_file() or (Path(init) / "config.yaml").is_file()):
        raise ParamError(f"param 'init_from': {init} is neither a Hugging Face folder (config.json) nor a training "
                         f"run folder (config.yaml)")
    manifest = v["manifest"]
    pretrain = _event_value(event, "manifest")
    if not manifest and pretrain:
        manifest = str(Path(pretrain).parent.parent / SFT_TOKENS / "manifest.json")
    if not manifest:
        raise ParamError("param 'manifest': empty, and no codefuse_model_export Asset event names the data run")
    v["manifest"] = check_path("manifest", manifest, roots)
    if v["quantize"]:
        q = v["quantize_manifest"] or env.get(QUANTIZE_MANIFEST_ENV, "")
        if not q:
            raise ParamError(f"param 'quantize_manifest': empty (and ${QUANTIZE_MANIFEST_ENV} unset) while quantize "
                             f"is on: give held-out token rows to calibrate on, or set quantize=false")
        v["quantize_manifest"] = check_path("quantize_manifest", q, roots)
        if v["quantize_manifest"] == v["manifest"]:
            raise ParamError("param 'quantize_manifest': the SFT manifest itself; calibrate and measure on rows the "
                             "model did not train on")
        _check_group_size(v["init_from"], v["quantize_group_size"])
    return v


def _check_group_size(init_from: str, group_size: int) -> None:
    """The fine-tuned model keeps init_from's shape: a group size that does not divide it is refused now, not after
    the training (a run folder's shape is only known from its checkpoint: deploy quantize checks it then)."""
    import json

    from deploy.gptq import GPTQError, check_group_size

    config = Path(init_from) / "config.json"
    if not config.is_file():
        return
    try:
        check_group_size(json.loads(config.read_text()), group_size)
    except GPTQError as e:
        raise ParamError(f"param 'quantize_group_size': {e}") from e
    except (ValueError, KeyError) as e:
        raise ParamError(f"param 'init_from': {config} is not a model config ({e})") from e


def run_dir(v: typing.Mapping[str, typing.Any], run_id: str) -> str:
    """<output_root or <data run>/finetune>/<run_name or the run id made path-safe>."""
    root = Path(v["output_root"]) if v["output_root"] else Path(v["manifest"]).parent.parent / "finetune"
    return str(root / run_folder_name(v["run_name"], run_id))


def plan(conf: typing.Mapping[str, typing.Any], run_id: str, event: typing.Mapping | None = None,
         env: typing.Mapping[str, str] | None = None) -> dict[str, typing.Any]:
    """The training DAG's plan (job spec, supervision policy) with sft.init_from set, as plain JSON (an XCom)."""
    v = validate(conf, event, env)
    out = run_dir(v, run_id)
    return {**planned_job(v, out, [f"sft.init_from={v['init_from']}"]), "quantize_dir": str(Path(out) / "int4"),
            "heldout": str(Path(v["manifest"]).parent / "heldout")}
