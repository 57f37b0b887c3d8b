"""Real DeepSpeed runs on CPU (gloo): loss falls, 2-rank DP = 1 rank bit for bit, SIGKILL + resume is exact, fp16
overflow."""
from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.train.shards import pipeline_token_shards

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STEPS = 8
# no gradient clipping: with it 2 ranks differ from 1 in the last bit of the gradient norm (see test_two_ranks_...)
COMMON = ["logging.progress_bar=false", "logging.tensorboard=false", f"schedule.max_steps={STEPS}",
          "schedule.warmup_steps=2", "batch.micro_batch=4", "batch.global_batch=8", "optimizer.grad_clip=0",
          "run.deterministic=true"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_PORT")}
    env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", DS_ACCELERATOR="cpu", PYTHONUNBUFFERED="1",
               PATH=f"{BIN}:{env.get('PATH', '')}", **extra)
    return env


def _sets(items) -> list[str]:
    return [a for item in items for a in ("--set", item)]


def _run(cmd, timeout=300, **env) -> str:
    r = subprocess.run(cmd, cwd=ROOT, env=_env(**env), capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
    return r.stdout + r.stderr


def _losses(out: Path) -> dict[int, float]:
    """step -> loss, the last record of each step winning (a resumed run logs its replayed steps again)."""
    return {r["step"]: r["loss"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())}


def _kill_tree(pid: int) -> None:
    """SIGKILL the trainer and its launcher (torchrun's workers do not share its process group)."""
    import psutil

    parent = psutil.Process(pid)
    for p in parent.children(recursive=True) + [parent]:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Shards made by the pipeline itself (tokenizer-train + tokenize on Spark local[2]) from stdlib sources."""
    manifest = pipeline_token_shards(tmp_path_factory.mktemp("shards"))
    assert manifest is not None, "this checkout has no pipeline/tokenize: the training tests need real shards"
    return manifest


@pytest.fixture(scope="module")
def reference(shards, tmp_path_factory):
    """One process, plain `python -m train`: the uninterrupted run the others are compared with."""
    out = tmp_path_factory.mktemp("ref")
    log = _run([sys.executable, "-m", "train", "--preset", "debug",
                *_sets(COMMON + [f"data.manifest={shards}", f"run.output={out}", "checkpoint.every_steps=4",
                                 "logging.tensorboard=true"])])
    return out, log


def test_debug_flavor_learns_and_exports(reference):
    out, log = reference
    losses = _losses(out)
    assert sorted(losses) == list(range(1, STEPS + 1))
    first, last = sum(losses[s] for s in (1, 2)) / 2, sum(losses[s] for s in (STEPS - 1, STEPS)) / 2
    assert last < first - 0.3, losses                                 # from about ln(vocab)
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert all(r["tokens_per_s"] > 0 and r["tflops_per_gpu"] > 0 and r["grad_norm"] > 0 for r in records)
    assert [r["samples"] for r in records] == [8 * s for s in range(1, STEPS + 1)]
    print(f"losses on {reference[0]}: {losses}")
    assert "step 8/8  loss" in log
    assert (out / "checkpoints" / "latest").read_text() == "global_step8"
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(out / "tensorboard")).Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/lr", "train/grad_norm", "train/tokens_per_s", "train/skipped_steps"} <= tags
    assert [e.value for e in events.Scalars("train/loss")] == pytest.approx([losses[s] for s in range(1, STEPS + 1)])
    import torch
    from transformers import AutoModelForCausalLM

    hf = AutoModelForCausalLM.from_pretrained(out / "hf")
    ids = torch.tensor([list(range(1, 33))])
    logits = hf(ids).logits
    assert logits.shape == (1, 32, hf.config.vocab_size) and torch.isfinite(logits).all()
    if (out / "hf" / "tokenizer.json").exists():                     # pipeline shards: their tokenizer rides along
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(out / "hf")
        prompt = tok("def encode(self, obj):", return_tensors="pt").input_ids
        text = tok.decode(hf.generate(prompt, max_new_tokens=8, do_sample=False)[0])
        assert text.startswith("def encode(self, obj):") and len(text) > len("def encode(self, obj):")


def test_two_ranks_equal_one_rank(reference, shards, tmp_path):
    """deepspeed launcher, 2 processes x micro batch 4 = the same global batch of 8 as 1 process x 2 micro batches,
    bit for bit: every loss is the same float.

    Why it can be exact: each rank runs the same micro batch as the one process does (same shapes, same CPU kernels,
    deterministic algorithms); one process accumulates g1/2 + g2/2, two ranks all-reduce g1/2 + g2/2 (gloo sums two
    values, and a + b == b + a; halving is exact in binary); the logged loss is (l1 + l2) / 2 either way.
    Why clipping is off (COMMON): ZeRO sums the squared gradient norm over each rank's partition and then all-reduces
    the partial sums, in another order than one process's single sum. On stdlib byte shards the norm came out one
    float32 ulp apart at one step of eight (2.0851667 vs 2.0851665); clipping divides every gradient by that norm, so
    with clipping on the two runs are not bit for bit equal by construction (in that run the losses still were).
    The Slurm test (tests/train/launch/test_slurm.py) compares the clipped path, within a tolerance."""
    out = tmp_path / "dp2"
    _run([str(BIN / "deepspeed"), "--num_gpus", "2", "--master_port", str(_port()), "--module", "train",
          *_sets(COMMON + [f"data.manifest={shards}", f"run.output={out}", "run.export_hf=false"])])
    one, two = _losses(reference[0]), _losses(out)
    assert sorted(two) == sorted(one) == list(range(1, STEPS + 1))
    assert two == one, {s: (one[s], two[s]) for s in one if one[s] != two[s]}


def test_sigkill_then_resume_matches_the_uninterrupted_run(reference, shards, tmp_path):
    """torchrun run checkpointing every 2 steps, SIGKILLed after step 5; the newest complete checkpoint (step 4) is then
    corrupted, so the restart must detect it and resume from step 2; every loss must equal the reference's."""
    out = tmp_path / "killed"
    sets = _sets(COMMON + [f"data.manifest={shards}", f"run.output={out}", "checkpoint.every_steps=2",
                           "run.export_hf=false", "checkpoint.keep_last=0"])
    cmd = [str(BIN / "torchrun"), "--nproc_per_node", "1", "--master_port", str(_port()),
           str(ROOT / "tests/train/slow_entry.py"), *sets]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(TRAIN_TEST_HANG_AFTER_STEP="5"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    metrics, deadline = out / "metrics.jsonl", time.time() + 240
    while not (metrics.exists() and any(json.loads(x)["step"] == 5 for x in metrics.read_text().splitlines())):
        if proc.poll() is not None:
            pytest.fail(f"the trainer exited ({proc.returncode}) before logging step 5: {proc.stdout.read()[-3000:]}")
        if time.time() > deadline:
            _kill_tree(proc.pid)
            pytest.fail(f"waited 240 s for the trainer to log step 5: {proc.stdout.read()[-3000:]}")
        time.sleep(0.05)
    _kill_tree(proc.pid)
    proc.wait()
    assert max(_losses(out)) == 5
    ckpts = out / "checkpoints"
    assert (ckpts / "latest").read_text() == "global_step4"
    optim = next((ckpts / "global_step4").glob("*optim_states.pt"))
    data = bytearray(optim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    optim.write_bytes(bytes(data))

    log = _run([sys.executable, "-m", "train", *sets])
    assert "skipping checkpoint global_step4: file" in log and "does not match its sha256" in log
    assert "resumed from global_step2: step 2, sample 16" in log
    ref, got = _losses(reference[0]), _losses(out)
    assert got == ref                                                 # fp32, deterministic: bit-identical


def test_fp16_overflow_skips_the_step_and_halves_the_scale(shards, tmp_path):
    out = tmp_path / "fp16"
    # micro batch 8 = one forward per step; forwards 3 and 4 return inf
    _run([sys.executable, str(ROOT / "tests/train/fp16_overflow_entry.py"),
          *COMMON[:2], "schedule.max_steps=6", "schedule.warmup_steps=2", "batch.micro_batch=8",
          "batch.global_batch=8", f"data.manifest={shards}", f"run.output={out}", "run.export_hf=false",
          "precision.dtype=fp16", "precision.initial_scale_power=10", "precision.hysteresis=1"],
         TRAIN_TEST_OVERFLOW_AT="[3, 4]")
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    scale = [r["loss_scale"] for r in records]
    skipped = [r["skipped_steps"] for r in records]
    lr = [r["lr"] for r in records]
    assert scale == [1024, 1024, 512, 256, 256, 256]
    assert skipped == [0, 0, 1, 2, 2, 2]
    assert lr[2] == lr[3] == lr[4]            # skipped updates do not advance the schedule
    finite = [math.isfinite(r["loss"]) for r in records]
    assert finite == [True, True, False, False, True, True]     # the injected steps, and only they


def test_extending_a_finished_run_resumes_on_the_new_schedule(reference, shards, tmp_path):
    """A finished run restarted with more steps resumes from its final checkpoint and follows the new schedule at
    once (the restored optimizer holds the old schedule's rate)."""
    import shutil

    from train.schedule import lr_at

    out = tmp_path / "extended"
    shutil.copytree(reference[0], out)
    log = _run([sys.executable, "-m", "train", *_sets(COMMON[:-1] + [
        "schedule.max_steps=10", "run.deterministic=true", f"data.manifest={shards}", f"run.output={out}",
        "run.export_hf=false"])])
    assert f"resumed from global_step{STEPS}: step {STEPS}, sample {8 * STEPS}" in log
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    lrs = {r["step"]: r["lr"] for r in records}
    assert [r["step"] for r in records] == list(range(1, 11))
    for step in (9, 10):
        assert lrs[step] == pytest.approx(lr_at(step - 1, 3e-3, 3e-4, 2, 8), rel=1e-9)


def test_resume_on_another_world_size_fails_loudly(reference, shards, tmp_path):
    """ZeRO shards the optimizer state by data-parallel rank: a 1-rank checkpoint cannot be resumed by 2 ranks, and the
    job must say so instead of starting over on a half-loaded model. Launched with train.hostfile's torchrun line."""
    import shlex
    import shutil

    from train.hostfile import launch_lines

    out = tmp_path / "regrown"
    shutil.copytree(reference[0], out)
    args = " ".join(_sets(COMMON + [f"data.manifest={shards}", f"run.output={out}", "run.export_hf=false"]))
    line = launch_lines(["127.0.0.1"], 2, "unused", args, port=_port())[1]
    assert line.startswith("torchrun --nnodes 1 --nproc_per_node 2 --rdzv_backend c10d --rdzv_endpoint 127.0.0.1:")
    r = subprocess.run([str(BIN / "torchrun"), *shlex.split(line)[1:]], cwd=ROOT, env=_env(), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode != 0
    assert f"checkpoint global_step{STEPS} does not fit this job" in r.stdout + r.stderr
    assert "DP world size of 1 but the current world size is 2" in r.stdout + r.stderr
    assert _losses(out) == _losses(reference[0])                      # nothing trained, nothing logged
