"""Warmup + cosine schedule: the pure function's landmarks, and the torch scheduler DeepSpeed steps follows it."""
from __future__ import annotations

import math

import pytest
import torch

from train import config
from train.schedule import lr_at, schedule_args, torch_scheduler


def test_landmarks_of_the_13b_schedule():
    peak, floor = 1.5e-4, 1.5e-5
    assert lr_at(0, peak, floor, 100, 900) == pytest.approx(1.5e-6)       # first update: 1/100 of the peak
    assert lr_at(49, peak, floor, 100, 900) == pytest.approx(0.75e-4)
    assert lr_at(99, peak, floor, 100, 900) == pytest.approx(peak)         # warmup ends at the peak
    assert lr_at(100, peak, floor, 100, 900) == pytest.approx(peak)        # cosine starts at the peak
    assert lr_at(550, peak, floor, 100, 900) == pytest.approx((peak + floor) / 2)  # half way down
    assert lr_at(1000, peak, floor, 100, 900) == pytest.approx(floor)
    assert lr_at(10**6, peak, floor, 100, 900) == pytest.approx(floor)     # then constant


def test_monotone_after_warmup():
    values = [lr_at(s, 1.0, 0.1, 10, 90) for s in range(10, 120)]
    assert all(a >= b for a, b in zip(values, values[1:]))
    assert min(values) == pytest.approx(0.1)


def test_torch_scheduler_matches_the_function():
    cfg = config.load("debug", None, ["schedule.max_steps=40", "schedule.warmup_steps=5", "optimizer.lr=0.01",
                                      "optimizer.min_lr=0.001"])
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([param], lr=cfg.optimizer.lr)
    sched = torch_scheduler(opt, cfg)
    args = schedule_args(cfg)
    assert args == (0.01, 0.001, 5, 35)  # decay_steps 0 = until max_steps
    for step in range(45):
        assert opt.param_groups[0]["lr"] == pytest.approx(lr_at(step, *args), rel=1e-12)
        opt.step()
        sched.step()
    assert math.isclose(opt.param_groups[0]["lr"], 0.001)
