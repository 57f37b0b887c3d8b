"""Throughput, TFLOPS and MFU arithmetic, peak lookup, and the console line."""
from __future__ import annotations

import pytest

from model import FLAVORS
from train.metrics import console_line, peak_tflops, throughput


def test_mfu_formula_on_13b():
    cfg = FLAVORS["13B"]
    fpt = cfg.flops_per_token(4096)
    assert fpt == 6 * cfg.num_params() + 12 * 40 * 5120 * 4096
    # 512 A100s at 45% MFU process this many tokens per second; the inverse must give 45% back
    tok_s = 0.45 * 312e12 * 512 / fpt
    m = throughput(int(tok_s * 10), 10.0, fpt, 512, peak_tflops("NVIDIA A100-SXM4-80GB", "fp16"))
    assert m["tflops_per_gpu"] == pytest.approx(0.45 * 312, rel=1e-6)
    assert m["mfu"] == pytest.approx(0.45, rel=1e-6)


def test_peak_lookup():
    assert peak_tflops("NVIDIA H100 80GB HBM3", "bf16") == pytest.approx(989.4)
    assert peak_tflops("NVIDIA H200", "fp16") == pytest.approx(989.4)
    assert peak_tflops("cpu", "fp32") is None
    assert peak_tflops("cpu", "fp32", override=2.0) == 2.0
    assert throughput(100, 1.0, 10, 1, None)["mfu"] is None


def test_console_line_names_every_metric():
    line = console_line(3, 10, {"loss": 2.5, "lr": 1e-4, "loss_scale": 32768.0, "grad_norm": 0.5, "skipped_steps": 1,
                                "tokens_per_s": 12345.6, "tflops_per_gpu": 150.0, "mfu": 0.48, "gpu_peak_gb": 40.0})
    assert line == ("step 3/10  loss 2.5000  lr 1.000e-04  scale 32768  gnorm 0.500  skipped 1  tok/s 12,346  "
                    "TFLOPS/gpu 150.00  MFU 48.0%  mem 40.00GB")
    assert "scale -" in console_line(1, 1, {"loss": 1.0})


def test_console_line_ends_with_the_per_task_losses():
    line = console_line(2, 5, {"loss": 2.0, "loss/complete": 1.25, "loss/explain": 3.5})
    assert line.endswith("mem -  tasks: complete 1.2500, explain 3.5000")
    assert "tasks" not in console_line(2, 5, {"loss": 2.0})
