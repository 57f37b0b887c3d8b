"""End to end: dag.test() of the fine-tuning DAG on CPU from a tiny pretrained export (debug flavor, a small BPE) and
tiny SFT shards of two tasks: fine-tune 3 steps under the supervisor, export, int4 GPTQ, per-task evaluation; and a
hostile form refused by `plan` with nothing submitted."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("airflow")

TASKS = ("code_generation", "comment_generation")
SEQ_LEN = 32
SYSTEM = {"role": "system", "content": "You are CodeFuse."}


def _sft_shards(out: Path, tok, tok_dir: Path) -> Path:
    """Stdlib code in the model's tokenizer, rows of SEQ_LEN + 1, the loss on each row's second half, rows
    alternating between the two tasks; a heldout/ folder of samples beside it, as tokenize's sft mode writes."""
    from schemas.tokens import Manifest
    from tests.deploy.quant_fixture import TRAIN_FILES, token_rows
    from train.data import file_sha256
    from train.shards import write_shards

    ids = token_rows(tok, TRAIN_FILES, SEQ_LEN)[:48]
    mask = np.zeros(ids.shape, dtype=np.uint8)
    mask[:, SEQ_LEN // 2:] = 1
    task_ids = np.repeat((np.arange(len(ids)) % len(TASKS))[:, None], ids.shape[1], axis=1).astype(np.int16)
    path = write_shards(out, ids, len(tok), loss_mask=mask, rows_per_shard=16, eos_id=tok.eos_token_id,
                        pad_id=tok.eos_token_id, task_ids=task_ids, tasks=TASKS)
    manifest = dataclasses.replace(Manifest.from_json(path.read_text()), tokenizer_dir=str(tok_dir),
                                   tokenizer_sha256=file_sha256(tok_dir / "tokenizer.json"))
    path.write_text(manifest.to_json())
    rows = [{"task": "comment_generation", "id": f"c{i}", "reference": f"Return {i}.",
             "messages": [SYSTEM, {"role": "human", "content": f"Document:\ndef f{i}():\n    return {i}"}]}
            for i in range(3)]
    rows += [{"task": "code_generation", "id": "g0", "reference": "```python\ndef g(): ...\n```",
              "messages": [SYSTEM, {"role": "human", "content": "Write g."}]}]
    (out / "heldout").mkdir()
    (out / "heldout" / "part-00000.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """{root, hf, sft, heldout_manifest}: a debug-flavor export trained a little on stdlib code (the pretrained
    model), SFT shards in its tokenizer and held-out pretraining rows to calibrate GPTQ on, all under root."""
    import torch
    from transformers import AutoTokenizer

    from tests.deploy.quant_fixture import build

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("finetune-dag")
    made = build(root / "pretrain", steps=30)
    tok = AutoTokenizer.from_pretrained(made["tokenizer"])
    sft = _sft_shards(root / "data" / "sft_tokens", tok, made["tokenizer"])
    return {"root": root, "hf": made["hf"], "sft": sft, "heldout_manifest": made["manifest"]}


@pytest.fixture
def finetune_dag(airflow_db, tiny, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.conftest import DAGS

    monkeypatch.setenv("PIPELINE_ALLOWED_ROOTS", str(tiny["root"]))
    monkeypatch.setenv("CODEFUSE_TRAIN_POKE_SECONDS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return DagBag(dag_folder=str(DAGS / "finetune_model.py")).dags["codefuse_finetune"]


def test_finetune_dag_trains_exports_quantizes_and_scores_each_task(finetune_dag, tiny):
    from airflow.utils.state import DagRunState
    from safetensors.torch import load_file

    from evaluation.harness import cannot_execute

    conf = {"manifest": str(tiny["sft"]), "init_from": str(tiny["hf"]), "run_name": "ft", "dtype": "fp32",
            "micro_batch": 4, "global_batch": 8, "lr": 0.001, "max_steps": 3, "startup_minutes": 4.0,
            "overrides": ["logging.tensorboard=false", "schedule.warmup_steps=1", "logging.every_steps=1"],
            "quantize_manifest": str(tiny["heldout_manifest"]), "quantize_group_size": 32,
            "quantize_calib_rows": 8, "quantize_eval_rows": 8,
            "eval_limit": 1, "eval_max_new_tokens": 8, "eval_task_limit": 2, "eval_task_max_new_tokens": 8}
    run = finetune_dag.test(run_conf=conf)
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == DagRunState.SUCCESS, states

    run_dir = tiny["root"] / "data" / "finetune" / "ft"  # beside the SFT shards' data run
    attempts = json.loads((run_dir / "launch" / "supervisor.json").read_text())["attempts"]
    assert [a["outcome"] for a in attempts] == ["succeeded"]
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3]
    assert all({f"loss/{t}" for t in TASKS} <= r.keys() for r in records)  # the sft preset's per-task losses
    config = (run_dir / "config.yaml").read_text()
    assert f"init_from: {tiny['hf']}" in config and "loss_mode: balanced" in config

    hf = run_dir / "hf"
    assert "global_step3" in (hf / "codefuse_checkpoint.txt").read_text()
    before, after = load_file(tiny["hf"] / "model.safetensors"), load_file(hf / "model.safetensors")
    assert before.keys() == after.keys()  # the pretrained model's shape, its weights moved by fine-tuning
    assert not any(np.array_equal(before[k].numpy(), after[k].numpy()) for k in after if "query_key_value" in k)

    int4 = run_dir / "int4"
    qcfg = json.loads((int4 / "config.json").read_text())["quantization_config"]
    assert qcfg["format"] == "pack-quantized" and qcfg["config_groups"]["group_0"]["weights"]["group_size"] == 32
    report = json.loads((int4 / "quantize_report.json").read_text())
    assert report["model"] == str(hf) and report["rows"]["calibration"] == 8

    summary = run.get_task_instance("evaluate").xcom_pull(task_ids="evaluate")
    assert summary == json.loads((run_dir / "eval" / "finetune_eval.json").read_text())
    q = summary["quantize"]  # the before/after figures are the quantize report's
    assert (q["perplexity_before"], q["perplexity_after"]) == (report["perplexity_before"]["perplexity"],
                                                               report["perplexity_after"]["perplexity"])
    assert q["weights_bytes_after"] < q["weights_bytes_before"] and q["perplexity_rows"] == 8
    comment = summary["tasks"]["comment_generation"]
    assert comment["scored"] == 2 and 0.0 <= comment["bleu"] <= 100.0
    scored = json.loads((run_dir / "eval" / "sft_tasks.json").read_text())["tasks"]
    assert scored["comment_generation"]["bleu"] == comment["bleu"] and scored["comment_generation"]["held_out"] == 3
    code = summary["tasks"]["code_generation"]
    why = cannot_execute({"benchmark": "humaneval", "limit": 1})
    if why:  # no sandbox here: the reason is recorded, not a figure
        assert code == {"measure": "pass@k", "skipped": why}
    else:
        assert code["problems"] == 1 and 0.0 <= code["pass@1"] <= 1.0
        assert json.loads((run_dir / "eval" / "passk" / "eval.json").read_text())["n_tasks"] == 1


def test_a_hostile_form_fails_plan_once_and_submits_nothing(finetune_dag, tiny, capfd):
    from airflow.utils.state import DagRunState

    conf = {"manifest": "/etc/passwd", "init_from": str(tiny["hf"]), "run_name": "hostile",
            "quantize_manifest": str(tiny["heldout_manifest"])}
    run = finetune_dag.test(run_conf=conf)
    assert run.state == DagRunState.FAILED
    plan = run.get_task_instance("plan")
    assert plan.state == "failed" and plan.try_number == 1
    assert {ti.task_id: ti.state for ti in run.get_task_instances() if ti.task_id != "plan"} == {
        t: "upstream_failed" for t in ("validate_manifest", "node_health", "submit", "supervise", "export_hf",
                                       "quantize", "evaluate")}
    assert not (tiny["root"] / "data" / "finetune" / "hostile").exists()
    out = capfd.readouterr()
    assert "AirflowFailException: refused: param 'manifest': '/etc/passwd' is outside the allowed roots" in \
        out.out + out.err
