"""What each training-DAG task does, as plain functions over the plan (the DAG file only wires them)."""
from __future__ import annotations

import json
import subprocess
import typing
from pathlib import Path

from orchestration.train_plan import job_spec, policy
from train.launch.supervisor import Supervisor


def check_manifest(path: str) -> dict:
    """Every shard present with its sha256, the tokenizer beside them matching; ValueError lists what is wrong."""
    from train.data import DataError, read_manifest, verify_shards, verify_tokenizer

    try:
        manifest, root = read_manifest(path)
    except (DataError, OSError, ValueError) as e:
        raise ValueError(f"manifest {path}: {e}") from e
    problems = verify_shards(manifest, root, 0, 1, checksums=True) + verify_tokenizer(manifest, root)
    if not manifest.shards:
        problems.append("the manifest lists no shards")
    if problems:
        raise ValueError(f"manifest {path}: {len(problems)} problem(s): " + "; ".join(problems[:10]))
    return {"manifest": path, "mode": manifest.mode, "shards": len(manifest.shards), "rows": manifest.total_rows,
            "tokens": manifest.total_tokens, "seq_len": manifest.seq_len, "vocab_size": manifest.vocab_size}


def node_health(planned: typing.Mapping, python: str) -> dict:
    """local: NVML on this machine, in the trainer's Python; bad GPUs are left out (RuntimeError when too few stay).
    slurm: the same check on every free node of the partition (srun), unhealthy ones excluded from the job; the
    job's own pre-flight checks again whichever nodes it is given."""
    v = planned["values"]
    if v["backend"] == "slurm":
        from train.launch.slurm_health import sweep

        result = sweep(backend_for(planned), python)
        for node, report in result["nodes"].items():
            print(f"{node}: " + (("healthy" if report["healthy"] else "UNHEALTHY") + f" - {report['note']}"
                                 if report["checked"] else f"not checked ({report['why']})"))
        if result["exclude"]:
            print(f"left out of the job: {', '.join(result['exclude'])}")
        return {"backend": "slurm", "nodes": result["nodes"], "env": {}, "exclude": result["exclude"],
                "gpu_ids": []}
    r = subprocess.run([python, "-m", "train.launch.health", "--json"], capture_output=True, text=True, timeout=300)
    try:
        report = json.loads(r.stdout)
    except ValueError as e:
        raise RuntimeError(f"the health check did not report (exit {r.returncode}): {r.stderr[-2000:]}") from e
    print(f"{report['host']}: {'healthy' if report['healthy'] else 'UNHEALTHY'} - {report['note']}")
    for reason in report["reasons"]:
        print(f"  {reason}")
    gpu_ids: list[int] = []
    if report["gpus"]:
        good = report["good_gpus"]
        if len(good) < v["gpus_per_node"]:
            raise RuntimeError(f"{report['host']}: {len(good)} healthy GPU(s) of {report['gpus']}, the job needs "
                               f"{v['gpus_per_node']}: " + "; ".join(report["reasons"]))
        if not report["healthy"]:
            gpu_ids = good
    return {"backend": "local", "host": report["host"], "healthy": report["healthy"], "note": report["note"],
            "reasons": report["reasons"], "env": {}, "exclude": [], "gpu_ids": gpu_ids}


def backend_for(planned: typing.Mapping):
    v = planned["values"]
    if v["backend"] == "slurm":
        from train.launch.slurm import SlurmBackend

        return SlurmBackend(partition=v["slurm_partition"] or None, time_limit=v["slurm_time_limit"] or None,
                            gpus=v["slurm_gpus"], health_check=True)
    from train.launch.local import LocalBackend

    return LocalBackend()


def supervisor(planned: typing.Mapping, health: typing.Mapping, python: str) -> Supervisor:
    import dataclasses

    spec = job_spec(planned, python, env=dict(health.get("env", {})), exclude_hosts=health.get("exclude", []))
    spec = dataclasses.replace(spec, gpu_ids=tuple(health.get("gpu_ids", [])))
    return Supervisor(backend_for(planned), spec, policy(planned))


def export_and_check(run_dir: str) -> str:
    """Export the newest checkpoint, then load what was written the way a user would."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from train.export import export_run

    out = export_run(run_dir)
    config = AutoConfig.from_pretrained(out)
    if (out / "tokenizer.json").exists():
        AutoTokenizer.from_pretrained(out)
    params = 12 * config.num_hidden_layers * config.hidden_size ** 2
    if params < 2e9:  # small enough to load on the worker: a forward pass proves the weights are whole
        import torch

        model = AutoModelForCausalLM.from_pretrained(out)
        with torch.no_grad():
            logits = model(torch.arange(1, 9).unsqueeze(0) % config.vocab_size).logits
        if not torch.isfinite(logits).all():
            raise ValueError(f"{out}: the exported model gives non-finite logits")
    print(f"Hugging Face export: {out} ({config.num_hidden_layers} layers, hidden {config.hidden_size})")
    return str(out)


def evaluate(planned: typing.Mapping, hf_dir: str) -> dict:
    """The evaluation harness on the export: pass@k in <run>/eval beside the checkpoints, plus comment BLEU when the
    data run has SFT code-comment pairs (<data run>/sft/status=kept)."""
    v = planned["values"]
    if not v["evaluate"]:
        return {"skipped": "evaluate=false"}
    from evaluation.harness import evaluate as run_eval

    out = Path(planned["run_dir"]) / "eval"
    n = v["eval_samples"] if v["eval_mode"] == "sample" else 1
    ks = [k for k in (1, 10, 100) if k <= n]
    result = run_eval(hf_dir, out, benchmark=v["eval_benchmark"], mode=v["eval_mode"], n=n, k=ks,
                      limit=v["eval_limit"] or None, max_new_tokens=v["eval_max_new_tokens"], progress=False)
    summary = {"eval": str(out / "eval.json"), "tasks": result["n_tasks"], **result["overall"]}
    pairs = Path(v["manifest"]).parent.parent / "sft" / "status=kept"
    if pairs.is_dir():
        from evaluation.bleu import evaluate_bleu

        bleu = evaluate_bleu(hf_dir, pairs, out, limit=v["eval_limit"] or 200, max_new_tokens=64, progress=False)
        summary["bleu"] = bleu.get("bleu")
    print(f"evaluation: {summary}")
    return summary
