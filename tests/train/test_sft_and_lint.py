"""SFT batches reach the loss with their mask (only bot tokens count), and train/ passes ruff."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from model import FLAVORS, GPTNeoX
from tests.train.shards import real_token_shards
from train.data import TokenStream, read_manifest
from train.loop import LossModule, param_groups

ROOT = Path(__file__).resolve().parents[2]


def test_sft_loss_counts_only_masked_targets(tmp_path):
    manifest, root = read_manifest(real_token_shards(tmp_path, seq_len=32, rows=8, sft=True))
    b = TokenStream(manifest, root, seed=1).gather(range(4))
    torch.manual_seed(0)
    model = GPTNeoX(FLAVORS["debug"].with_vocab(manifest.vocab_size)).eval()
    ids, targets = torch.from_numpy(b.input_ids), torch.from_numpy(b.targets)
    mask = torch.from_numpy(b.loss_mask)
    with torch.no_grad():
        got = LossModule(model)(ids, targets, mask, b.doc_starts)
        logits = model(ids, b.doc_starts)[..., : manifest.vocab_size].float()
        per_token = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
    want = (per_token * mask.reshape(-1)).sum() / mask.sum()
    assert mask.sum() == 4 * 17 and torch.allclose(got, want, rtol=1e-5)
    assert abs(got - per_token.mean()) > 1e-3                                # the mask changes the loss


def test_weight_decay_groups():
    model = GPTNeoX(FLAVORS["debug"])
    decay, no_decay = param_groups(model, 0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim >= 2 for p in decay["params"]) and all(p.ndim == 1 for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_ruff_is_clean_on_train():
    ruff = Path(sys.executable).parent / "ruff"
    r = subprocess.run([str(ruff), "check", "train", "tests/train", "bench/train_gpu_summary.py"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
