"""What the fine-tuning DAG's own tasks do (the manifests' checks, int4 quantization, per-task evaluation); node
health, submission, supervision and export are the training DAG's (orchestration/train_tasks.py)."""
from __future__ import annotations

import json
import subprocess
import typing
from pathlib import Path

from orchestration.train_tasks import check_manifest


class QuantizeRefused(ValueError):
    """`deploy quantize` exited 2: the model, the manifest or the settings do not fit; a retry cannot help."""


def check_manifests(planned: typing.Mapping) -> dict:
    """The SFT shards (mode sft) and, when quantizing, the calibration shards: present, checksums, tokenizer."""
    v = planned["values"]
    sft = check_manifest(v["manifest"])
    if sft["mode"] != "sft":
        raise ValueError(f"manifest {v['manifest']}: mode {sft['mode']!r}, fine-tuning needs sft shards (`python -m "
                         f"pipeline tokenize` in sft mode)")
    out = {"sft": sft}
    if v["quantize"]:
        out["calibration"] = check_manifest(v["quantize_manifest"])
    return out


def quantize(planned: typing.Mapping, hf_dir: str, python: str) -> dict:
    """`python -m deploy quantize` of the export into <run>/int4; its report's figures, or {"skipped": why}.
    Exit 2 (a refused model, manifest or group size) raises QuantizeRefused with deploy's one-line reason; any
    other failure RuntimeError with the output's tail."""
    v = planned["values"]
    if not v["quantize"]:
        return {"skipped": "quantize=false"}
    out = Path(planned["quantize_dir"])
    cmd = [python, "-m", "deploy", "quantize", "--model", hf_dir, "--manifest", v["quantize_manifest"],
           "--out", str(out), "--group-size", str(v["quantize_group_size"]),
           "--calib-rows", str(v["quantize_calib_rows"]), "--eval-rows", str(v["quantize_eval_rows"]),
           "--passk-limit", str(v["quantize_passk_limit"])]
    print("running: " + " ".join(cmd), flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True)
    print(r.stdout[-6000:], flush=True)
    if r.returncode == 2:
        lines = [x for x in r.stderr.splitlines() if x.startswith("quantize error: ")]
        raise QuantizeRefused(lines[-1] if lines else f"deploy quantize refused the job: {r.stderr[-1000:]}")
    if r.returncode:
        raise RuntimeError(f"deploy quantize failed (exit {r.returncode}): {r.stderr[-3000:]}")
    return quantize_figures(out)


def quantize_figures(out: Path) -> dict:
    """Before/after figures of <out>/quantize_report.json."""
    from deploy.quantize import REPORT

    r = json.loads((out / REPORT).read_text())
    figures = {"int4": str(out), "report": str(out / REPORT),
               "perplexity_before": r["perplexity_before"]["perplexity"],
               "perplexity_after": r["perplexity_after"]["perplexity"],
               "perplexity_change": r["perplexity_change"], "perplexity_rows": r["perplexity_after"]["rows"],
               "weights_bytes_before": r["size_before"]["weights_bytes"],
               "weights_bytes_after": r["size_after"]["weights_bytes"], "weights_ratio": r["weights_ratio"]}
    if "passk" in r:
        figures["passk"] = r["passk"]
    return figures


def evaluate(planned: typing.Mapping, hf_dir: str, quantized: typing.Mapping) -> dict:
    """Per-task scores of the fine-tuned export in <run>/eval: BLEU of each text task on the samples tokenize held
    out beside the SFT shards, pass@k on the benchmark for code generation (or the reason it cannot run here), and
    the quantize task's before/after figures."""
    v = planned["values"]
    if not v["evaluate"]:
        return {"skipped": "evaluate=false", "quantize": dict(quantized)}
    from evaluation.harness import cannot_execute
    from evaluation.sft_tasks import PASSK_COMMANDS, evaluate_tasks

    out = Path(planned["run_dir"]) / "eval"
    summary: dict = {"tasks": {}, "quantize": dict(quantized)}
    heldout = Path(planned["heldout"])
    if heldout.is_dir():
        report = evaluate_tasks(hf_dir, heldout, out, limit=v["eval_task_limit"],
                                max_new_tokens=v["eval_task_max_new_tokens"], progress=False)
        summary["tasks"] = {t: ({"bleu": r["bleu"], "scored": r["scored"]} if r["measure"] == "BLEU" else
                                {"measure": r["measure"]}) for t, r in report["tasks"].items()}
    else:
        summary["tasks_skipped"] = f"no held-out SFT samples at {heldout} (tokenize's sft_holdout_fraction was 0?)"
    n = v["eval_samples"] if v["eval_mode"] == "sample" else 1
    settings = {"benchmark": v["eval_benchmark"], "mode": v["eval_mode"], "n": n,
                "k": [k for k in (1, 10, 100) if k <= n], "limit": v["eval_limit"] or None,
                "max_new_tokens": v["eval_max_new_tokens"], "progress": False}
    why = cannot_execute(settings)
    code_task = next(iter(PASSK_COMMANDS))  # code generation is measured by executing the benchmark's tests
    if why:
        summary["tasks"][code_task] = {"measure": "pass@k", "skipped": why}
    else:
        from evaluation.harness import evaluate as run_passk

        result = run_passk(hf_dir, out / "passk", **settings)
        summary["tasks"][code_task] = {"measure": f"pass@k ({v['eval_benchmark']})", "eval": str(out / "passk"),
                                       "problems": result["n_tasks"], **result["overall"]}
    (out / "finetune_eval.json").parent.mkdir(parents=True, exist_ok=True)
    (out / "finetune_eval.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"evaluation: {json.dumps(summary)}")
    return summary
