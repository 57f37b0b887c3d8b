"""The SFT losses on hand-computed numbers (token mean, MFTCoder's balanced mean, task weights, absent tasks, a row
mixing two tasks), the LossModule's modes, and the sft config keys."""
from __future__ import annotations

import pytest
import torch

from common.typed_config import ConfigError
from model import FLAVORS, GPTNeoX
from train.config import load
from train.setup import LossModule
from train.sft_loss import balanced_loss, per_task_means, sft_loss, task_sums, task_weight_list

# Two rows of three targets, four tasks (task 3 appears nowhere). Row 0 mixes tasks 0 and 1; row 1's last target is
# padding (task -1, not counted), and its loss is inf to show an uncounted token cannot leak into any sum.
LOSS = torch.tensor([[1.0, 2.0, 3.0], [4.0, 6.0, float("inf")]])
MASK = torch.tensor([[0.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
TASKS = torch.tensor([[0, 0, 1], [0, 2, -1]])
# counted: task 0 -> 2.0 and 4.0, task 1 -> 3.0, task 2 -> 6.0
#   per-task means: 3.0, 3.0, 6.0; task 3 absent
#   token mean    = (2 + 3 + 4 + 6) / 4             = 3.75
#   balanced      = (3 + 3 + 6) / 3                 = 4.0
#   balanced, weights (2, 1, 0.25, 10) = (2*3 + 1*3 + 0.25*6) / 3 = 10.5 / 3 = 3.5  (task 3's 10 never counts)


def test_task_sums_and_counts():
    sums, counts = task_sums(LOSS, MASK, TASKS, 4)
    assert sums.tolist() == [6.0, 3.0, 6.0, 0.0]
    assert counts.tolist() == [2.0, 1.0, 1.0, 0.0]


def test_token_and_balanced_numbers():
    ones = torch.ones(4)
    token, stats = sft_loss(LOSS, MASK, TASKS, ones, "token")
    assert token.item() == 3.75
    balanced, _ = sft_loss(LOSS, MASK, TASKS, ones, "balanced")
    assert balanced.item() == pytest.approx(4.0, abs=1e-6)
    weighted, _ = sft_loss(LOSS, MASK, TASKS, torch.tensor([2.0, 1.0, 0.25, 10.0]), "balanced")
    assert weighted.item() == pytest.approx(3.5, abs=1e-6)
    assert stats.tolist() == [[6.0, 3.0, 6.0, 0.0], [2.0, 1.0, 1.0, 0.0]]
    assert per_task_means(stats[0], stats[1], ("a", "b", "c", "d")) == {"loss/a": 3.0, "loss/b": 3.0, "loss/c": 6.0}


def test_balanced_gradient_weighs_each_task_equally():
    loss = LOSS.clone().nan_to_num(posinf=8.0).requires_grad_()
    sft_loss(loss, MASK, TASKS, torch.ones(4), "balanced")[0].backward()
    # d/d token = weight / (its task's count x 3 tasks present): task 0's two tokens 1/6 each, tasks 1 and 2 1/3
    assert torch.allclose(loss.grad, torch.tensor([[0.0, 1 / 6, 1 / 3], [1 / 6, 1 / 3, 0.0]]))
    token = LOSS.clone().nan_to_num(posinf=8.0).requires_grad_()
    sft_loss(token, MASK, TASKS, torch.ones(4), "token")[0].backward()
    assert torch.allclose(token.grad, MASK / 4)                            # every counted token 1/4


def test_one_task_balanced_is_the_token_mean_and_nothing_counted_is_zero():
    one_task = torch.where(TASKS >= 0, 0, -1)
    balanced, _ = sft_loss(LOSS, MASK, one_task, torch.ones(1), "balanced")
    assert balanced.item() == pytest.approx(3.75, abs=1e-6)
    empty = LOSS.nan_to_num(posinf=8.0).requires_grad_()
    zero = balanced_loss(*task_sums(empty, torch.zeros_like(MASK), TASKS, 4), torch.ones(4))
    assert zero.item() == 0.0 and zero.requires_grad                          # DeepSpeed can still backpropagate
    with pytest.raises(ValueError, match="loss mode 'mean'"):
        sft_loss(LOSS, MASK, TASKS, torch.ones(4), "mean")


def test_loss_module_modes_agree_with_the_model_loss():
    torch.manual_seed(0)
    model = GPTNeoX(FLAVORS["debug"]).eval()
    ids, targets = torch.randint(0, 1000, (2, 12)), torch.randint(0, 1000, (2, 12))
    mask = (torch.arange(12) >= 5).float().expand(2, 12)
    tasks = torch.tensor([[0] * 12, [1] * 8 + [0] * 4])
    with torch.no_grad():
        want = model.loss(ids, targets, mask)
        plain = LossModule(model)
        assert plain(ids, targets, mask).item() == want.item() and plain.stats is None   # today's path
        token = LossModule(model, "token", [1.0, 1.0])
        assert token(ids, targets, mask, None, tasks).item() == pytest.approx(want.item(), rel=1e-6)
        assert token.stats[1].tolist() == [7.0 + 4.0, 3.0]                  # counted tokens per task
        per_token = model.token_losses(ids, targets).reshape(2, 12)
        t0 = (per_token * mask * (tasks == 0)).sum() / 11
        t1 = (per_token * mask * (tasks == 1)).sum() / 3
        balanced = LossModule(model, "balanced", [1.0, 3.0])
        assert balanced(ids, targets, mask, None, tasks).item() == pytest.approx(((t0 + 3 * t1) / 2).item(), rel=1e-6)


def test_task_weights_by_name():
    assert task_weight_list({"docstring": 2.0}, ("completion", "docstring")) == [1.0, 2.0]
    assert task_weight_list({}, ()) == [1.0]
    with pytest.raises(ConfigError, match=r"\['nope'\].*its tasks are \['completion'\]"):
        task_weight_list({"nope": 2.0}, ("completion",))
    with pytest.raises(ConfigError, match="names no tasks"):
        task_weight_list({"nope": 2.0}, ())


def test_sft_config_keys():
    with pytest.raises(ConfigError, match="'sft.loss_mode' got 'mean'"):
        load("debug", overrides=["sft.loss_mode=mean"])
    with pytest.raises(ConfigError, match="preset sft needs sft.init_from"):
        load("sft")
    cfg = load("sft", overrides=["sft.init_from=/models/base", "sft.task_weights={a: 2, b: 0.5}"])
    assert (cfg.sft.loss_mode, cfg.sft.task_weights, cfg.optimizer.lr) == ("balanced", {"a": 2.0, "b": 0.5}, 2e-5)
    with pytest.raises(ConfigError, match="'sft.task_weights' must be >= 0.0"):
        load("debug", overrides=["sft.task_weights={a: -1}"])
    from train.config import check

    lora_tp = load("debug", overrides=["data.manifest=m", "sft.init_from=x", "sft.lora.rank=8", "parallel.tensor=2"])
    with pytest.raises(ConfigError, match="LoRA runs without tensor parallelism"):
        check(lora_tp)
    with pytest.raises(ConfigError, match="set sft.init_from"):
        check(load("debug", overrides=["data.manifest=m", "sft.lora.rank=8"]))
