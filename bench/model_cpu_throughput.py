"""CPU training throughput side by side: our GPTNeoX vs transformers GPTNeoXForCausalLM, same config, weights, batch."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model import FLAVORS, GPTNeoX, to_hf_config  # noqa: E402
from model.hf import to_hf_state_dict  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--vocab", type=int, default=8192, help="a multiple of 128 keeps the two losses comparable")
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--steps", type=int, default=10, help="timed steps per model (after --warmup)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    from transformers import GPTNeoXForCausalLM

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = FLAVORS["debug"].replace(vocab_size=args.vocab, hidden=args.hidden, layers=args.layers, heads=args.heads,
                                   ffn=4 * args.hidden, max_seq_len=args.seq)
    torch.manual_seed(0)
    ours = GPTNeoX(cfg).train()
    theirs = GPTNeoXForCausalLM(to_hf_config(cfg)).train()
    theirs.load_state_dict(to_hf_state_dict(ours))
    rows = torch.randint(0, cfg.vocab_size, (args.batch, args.seq + 1), generator=torch.Generator().manual_seed(0))
    x, y = rows[:, :-1].contiguous(), rows[:, 1:].contiguous()

    def ours_loss():
        return ours.loss(x, y)

    def theirs_loss():  # transformers' own training loss: labels already shifted
        return theirs(input_ids=x, labels=y, shift_labels=y).loss

    runs = {"ours (model.GPTNeoX)": (ours, ours_loss), "transformers GPTNeoXForCausalLM": (theirs, theirs_loss)}
    opts = {name: torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0.1) for name, (m, _) in runs.items()}
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpu_times: dict[str, list[float]] = {name: [] for name in runs}  # process CPU seconds: immune to waiting for a core
    load_before = os.getloadavg()[0]
    first_loss = {}
    for step in range(args.warmup + args.steps):
        order = list(runs) if step % 2 == 0 else list(reversed(runs))  # back to back, alternating who goes first
        for name in order:  # so that load from other processes on the shared cores hits both alike
            model, loss_fn = runs[name]
            start, cpu_start = time.perf_counter(), time.process_time()
            opts[name].zero_grad(set_to_none=True)
            loss = loss_fn()
            loss.backward()
            opts[name].step()
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            first_loss.setdefault(name, loss.item())
            if step >= args.warmup:
                times[name].append(elapsed)
                cpu_times[name].append(cpu)

    tokens = args.batch * args.seq
    print(f"config: hidden={cfg.hidden} layers={cfg.layers} heads={cfg.heads} ffn={cfg.ffn} vocab={cfg.vocab_size} "
          f"params={ours.num_params():,}; batch {args.batch} x seq {args.seq} = {tokens} tokens/step; "
          f"fwd+bwd+AdamW, fp32, {torch.get_num_threads()} threads, median of {args.steps} steps; "
          f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'model':34} {'median s/step':>14} {'tokens/s':>10} {'CPU s/step':>11} {'tokens/CPU-s':>13} "
          f"{'first loss':>11}")
    result, cpu_result = {}, {}
    for name in runs:
        med, cpu_med = statistics.median(times[name]), statistics.median(cpu_times[name])
        result[name], cpu_result[name] = tokens / med, tokens / cpu_med
        print(f"{name:34} {med:14.4f} {tokens / med:10.0f} {cpu_med:11.4f} {tokens / cpu_med:13.0f} "
              f"{first_loss[name]:11.5f}")
    names = list(runs)
    ratio = result[names[0]] / result[names[1]]
    paired = statistics.median(b / a for a, b in zip(times[names[0]], times[names[1]]))
    cpu_ratio = cpu_result[names[0]] / cpu_result[names[1]]
    print(f"ratio ours / transformers: {ratio:.3f}x (ratio of medians); {paired:.3f}x (median of back-to-back pairs); "
          f"{cpu_ratio:.3f}x (tokens per CPU-second)")
    return {"ours_tokens_per_s": result[names[0]], "hf_tokens_per_s": result[names[1]], "ratio": ratio,
            "paired_ratio": paired, "cpu_ratio": cpu_ratio,
            "loss_diff": abs(first_loss[names[0]] - first_loss[names[1]])}


if __name__ == "__main__":
    main()
