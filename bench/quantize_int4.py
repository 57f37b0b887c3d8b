"""`python -m bench.quantize_int4`: int4 GPTQ against round-to-nearest (RTN, same int4 groups) and the unquantized
model, by held-out perplexity, on the debug flavor trained on stdlib code (the tests' fixture, trained longer); then
the on-disk size of a randomly initialised larger flavor (350M) before and after, and the 13B size computed from it."""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def rtn(model_dir: Path, out: Path, group_size: int, dtype: str) -> Path:
    """The same int4 groups by round-to-nearest: llm-compressor's QuantizationModifier, no calibration data."""
    from llmcompressor import oneshot
    from llmcompressor.modifiers.quantization import QuantizationModifier

    from deploy import gptq

    weights = {"num_bits": 4, "type": "int", "symmetric": True, "strategy": "group", "group_size": group_size}
    model = gptq.load(model_dir, dtype)
    oneshot(model=model, recipe=QuantizationModifier(config_groups={"g": {"targets": ["Linear"], "weights": weights}},
                                                     ignore=gptq.KEEP))
    return gptq.save(model, model_dir, out)


def quality(tmp: Path, steps: int, calib: int, evals: int, groups: list[int]) -> list[dict]:
    import torch

    from deploy import gptq
    from deploy.perplexity import perplexity
    from deploy.quantize import REPORT
    from deploy.quantize import main as quantize
    from deploy.rows import held_out_rows
    from tests.deploy.quant_fixture import build

    torch.set_num_threads(1)
    made = build(tmp, steps=steps)
    print(f"debug flavor trained {steps} steps: training loss {made['losses'][0]:.3f} -> "
          f"{sum(made['losses'][-20:]) / 20:.3f} (mean of the last 20)", flush=True)
    rows = held_out_rows(made["manifest"], made["hf"], calib, evals, 0, None)
    results = []
    for group in groups:
        out = tmp / f"gptq-{group}"
        args = ["--model", str(made["hf"]), "--manifest", str(made["manifest"]), "--out", str(out), "--group-size",
                str(group), "--calib-rows", str(calib), "--eval-rows", str(evals), "--device", "cpu"]
        assert quantize(args) == 0
        rep = json.loads((out / REPORT).read_text())
        if not results:
            results.append({"method": "bfloat16 (unquantized)", "group": "-", **rep["perplexity_before"],
                            "weights_bytes": rep["unquantized_bytes_at_dtype"]})
        results.append({"method": "GPTQ int4", "group": group, **rep["perplexity_after"],
                        "weights_bytes": rep["size_after"]["weights_bytes"]})
        q = gptq.load(rtn(made["hf"], tmp / f"rtn-{group}", group, "bfloat16"), "bfloat16")
        results.append({"method": "RTN int4", "group": group, **perplexity(q, rows.evaluation, rows.vocab_size),
                        "weights_bytes": gptq.folder_bytes(tmp / f"rtn-{group}")["weights_bytes"]})
    return results


def size_at_shape(tmp: Path, flavor: str, seq_len: int) -> dict:
    """Bytes on disk of a random `flavor` model: fp32 export, unquantized bf16 (computed from its tensors), int4."""
    import torch

    from deploy import gptq
    from model import FLAVORS, GPTNeoX, export_hf
    from train.shards import random_shards

    cfg = FLAVORS[flavor].replace(max_seq_len=seq_len)
    torch.set_num_threads(2)  # large matrices: both cores help (the tiny model's steps ran faster on one)
    torch.manual_seed(0)
    export_hf(GPTNeoX(cfg).eval(), tmp / "hf")
    manifest = random_shards(tmp / "rows", rows=8, seq_len=seq_len, vocab_size=cfg.vocab_size)
    from deploy.rows import held_out_rows

    rows = held_out_rows(manifest, tmp / "hf", 7, 1, 0, None)
    model = gptq.load(tmp / "hf", "bfloat16")
    bf16 = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    start = time.perf_counter()
    gptq.quantize(model, rows.calibration.input_ids, 128)
    seconds = time.perf_counter() - start
    gptq.save(model, tmp / "hf", tmp / "int4")
    return {"flavor": flavor, "params": cfg.num_params(), "block_params": cfg.num_params(embeddings=False),
            "fp32_bytes": gptq.folder_bytes(tmp / "hf")["weights_bytes"], "bf16_bytes": bf16,
            "int4_bytes": gptq.folder_bytes(tmp / "int4")["weights_bytes"], "gptq_seconds": round(seconds, 1),
            "calibration": f"7 random rows x {seq_len} tokens, group 128"}


def estimate_13b(measured: dict) -> dict:
    """13B's int4 size computed from the measured run: embeddings + lm_head in bf16 (2 bytes per parameter) plus the
    blocks at the bytes per block parameter the measured int4 file shows."""
    from model import FLAVORS

    m, big = measured, FLAVORS["13B"]
    emb = lambda p, b: p - b  # noqa: E731  (embedding + head parameters)
    per_block_param = (m["int4_bytes"] - 2 * emb(m["params"], m["block_params"])) / m["block_params"]
    int4 = 2 * emb(big.num_params(), big.num_params(embeddings=False)) + per_block_param * big.num_params(False)
    return {"bf16_bytes": 2 * big.num_params(), "int4_bytes": int(int4), "block_bytes_per_param": per_block_param}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--steps", type=int, default=600, help="training steps of the debug model")
    p.add_argument("--calib-rows", type=int, default=64)
    p.add_argument("--eval-rows", type=int, default=64)
    p.add_argument("--groups", default="32,64", help="int4 group sizes to compare (must divide 64 and 256)")
    p.add_argument("--size-flavor", default="350M", help="flavor whose on-disk size is measured ('none': skip)")
    p.add_argument("--size-seq-len", type=int, default=256)
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-quant-") as tmp:
        table = quality(Path(tmp) / "q", a.steps, a.calib_rows, a.eval_rows, [int(g) for g in a.groups.split(",")])
        base = table[0]["perplexity"]
        print(f"\nheld-out perplexity, {table[0]['rows']} rows ({table[0]['tokens']} tokens); calibration "
              f"{a.calib_rows} other rows\n{'method':<24}{'group':>6}{'perplexity':>12}{'change':>9}{'weights':>12}")
        for r in table:
            change = 100 * (r["perplexity"] / base - 1)
            print(f"{r['method']:<24}{r['group']:>6}{r['perplexity']:>12.3f}{change:>+8.2f}%{r['weights_bytes']:>12,}")
        if a.size_flavor != "none":
            s = size_at_shape(Path(tmp) / "s", a.size_flavor, a.size_seq_len)
            est = estimate_13b(s)
            gb = {k: s[k] / 1e9 for k in ("fp32_bytes", "bf16_bytes", "int4_bytes")}
            print(f"\n{s['flavor']} ({s['params']:,} parameters, random init) on disk: fp32 {gb['fp32_bytes']:.3f} "
                  f"GB, bf16 {gb['bf16_bytes']:.3f} GB (computed from its tensors), int4 {gb['int4_bytes']:.3f} GB "
                  f"measured ({gb['bf16_bytes'] / gb['int4_bytes']:.2f}x vs bf16); GPTQ took {s['gptq_seconds']} s "
                  f"on CPU ({s['calibration']})")
            print(f"13B computed from it: bf16 {est['bf16_bytes'] / 1e9:.2f} GB -> int4 {est['int4_bytes'] / 1e9:.2f}"
                  f" GB ({est['bf16_bytes'] / est['int4_bytes']:.2f}x; blocks at "
                  f"{est['block_bytes_per_param']:.4f} bytes per parameter, embeddings and lm_head in bf16)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
