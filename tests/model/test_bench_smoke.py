"""Smoke runs of the model benchmarks on CPU: the GPU check script's loop, and the side-by-side throughput bench."""
import math

from bench import model_cpu_throughput, model_gpu_check


def test_gpu_check_runs_on_cpu_with_the_debug_flavor(capsys):
    rows = model_gpu_check.main(["--flavor", "debug", "--steps", "2", "--warmup", "1", "--seq", "64",
                                 "--device", "cpu", "--docs", "2", "--loss-chunk", "48"])
    out = capsys.readouterr().out
    assert [(r["dtype"], r["mode"]) for r in rows] == [("bf16", "eager"), ("fp16", "eager")]
    for row in rows:
        assert row["tokens_per_s"] > 0 and row["tflops"] > 0 and row["mfu"] is None
        assert row["attention"].startswith("SDPA ") and math.isfinite(row["loss1"])
        assert row["micro_batch"] == 2
    assert "6*N + 12*L*h*s" in out and "tokens/s" in out and "MFU" in out


def test_peak_table_is_keyed_by_device_name():
    names = dict(model_gpu_check.PEAK_TFLOPS)
    assert names["H100"] == names["H200"] == 989.4
    assert next(p for k, p in model_gpu_check.PEAK_TFLOPS if k in "NVIDIA H100 80GB HBM3") == 989.4
    assert next(p for k, p in model_gpu_check.PEAK_TFLOPS if k in "NVIDIA H100 PCIe") == 756.0


def test_cpu_throughput_bench_trains_both_models_to_the_same_loss(capsys):
    result = model_cpu_throughput.main(["--hidden", "32", "--layers", "1", "--heads", "2", "--vocab", "256",
                                        "--seq", "16", "--batch", "2", "--steps", "2", "--warmup", "1"])
    assert result["loss_diff"] < 1e-5  # the same weights and batch give transformers' loss
    assert result["ours_tokens_per_s"] > 0 and result["hf_tokens_per_s"] > 0
    assert "ratio ours / transformers" in capsys.readouterr().out
