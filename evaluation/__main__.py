"""CLI: `python -m evaluation --model DIR ...` (pass@k), `--samples FILE | --canonical` (score only), `bleu ...`,
`sft-tasks ...` (per-task scores on the SFT samples the tokenize stage held out)."""
from __future__ import annotations

import argparse
import sys

from evaluation.config import MODES, PRESETS, parse_ks


def passk_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evaluation", description="pass@k of a checkpoint, sandboxed. "
                                "`python -m evaluation bleu -h` for comment BLEU, `sft-tasks -h` for per-task "
                                "scores on held-out SFT samples.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="a folder transformers loads (e.g. the trainer's HF export)")
    src.add_argument("--samples", help="score completions made elsewhere: JSONL of {task_id, completion}")
    src.add_argument("--canonical", action="store_true", help="score each problem's canonical_solution")
    p.add_argument("--benchmark", default="humaneval", help="humaneval | humaneval-rust | path to a JSONL file")
    p.add_argument("--preset", choices=sorted(PRESETS), help="the seed's settings (sample: T=0.2 top-p 0.95 n=10)")
    p.add_argument("--mode", choices=MODES)
    p.add_argument("--n", type=int)
    p.add_argument("--temperature", type=float)
    p.add_argument("--top-p", type=float, dest="top_p")
    p.add_argument("--num-beams", type=int, dest="num_beams")
    p.add_argument("--k", type=parse_ks, help="comma-separated, e.g. 1,10")
    p.add_argument("--limit", type=int, help="only the first N problems")
    p.add_argument("--seed", type=int)
    p.add_argument("--batch-size", type=int, dest="batch_size")
    p.add_argument("--max-new-tokens", type=int, dest="max_new_tokens")
    p.add_argument("--device")
    p.add_argument("--workers", type=int, help="sandboxes at once")
    p.add_argument("--wall-seconds", type=float, dest="wall_seconds")
    p.add_argument("--memory-mb", type=int, dest="memory_mb")
    p.add_argument("--no-progress", action="store_false", dest="progress", default=None)
    p.add_argument("--out", default="out/eval", help="folder for eval.json and samples.jsonl")
    p.add_argument("--skip-without-sandbox", action="store_true", dest="skip_without_sandbox",
                   help="where the samples cannot be executed (no sandbox, no toolchain), say why in one line and "
                        "exit 0 instead of failing (what `make run` does)")
    return p


def bleu_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evaluation bleu", description="BLEU of generated comments against "
                                "held-out code–comment pairs of the sft stage")
    p.add_argument("--model", required=True)
    p.add_argument("--pairs", required=True, help="the sft stage's kept pairs: <run>/sft/status=kept")
    p.add_argument("--fraction", type=float, default=0.05, help="share of pairs held out (by hash of id)")
    p.add_argument("--split-seed", type=int, default=0, dest="split_seed")
    p.add_argument("--limit", type=int, default=200)
    p.add_argument("--max-new-tokens", type=int, default=64, dest="max_new_tokens")
    p.add_argument("--batch-size", type=int, default=8, dest="batch_size")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default="out/eval")
    return p


def sft_tasks_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evaluation sft-tasks", description="per-task scores of a fine-tuned "
                                "model on the samples `pipeline tokenize` (sft mode) held out: BLEU for "
                                "comment_generation and chat_rounds tasks; code_generation names its pass@k command")
    p.add_argument("--model", required=True)
    p.add_argument("--heldout", required=True, help="<sft tokens>/heldout (or one JSONL file of those rows)")
    p.add_argument("--tasks", type=lambda v: [t for t in v.split(",") if t], help="comma-separated; default: all")
    p.add_argument("--limit", type=int, default=200, help="samples scored per task (first by id)")
    p.add_argument("--max-new-tokens", type=int, default=128, dest="max_new_tokens")
    p.add_argument("--batch-size", type=int, default=8, dest="batch_size")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-progress", action="store_false", dest="progress", default=True)
    p.add_argument("--out", default="out/eval")
    return p


def main(argv: list[str] | None = None) -> int:
    from evaluation.executors import ToolchainMissing
    from evaluation.sandbox import SandboxUnavailable

    try:
        return _main(sys.argv[1:] if argv is None else argv)
    except (ValueError, FileNotFoundError, ToolchainMissing, SandboxUnavailable) as e:  # settings, benchmark, model
        print(f"evaluation error: {e}", file=sys.stderr)
        return 2


def _main(argv: list[str]) -> int:
    if argv[:1] == ["sft-tasks"]:
        from evaluation.sft_tasks import evaluate_tasks

        a = vars(sft_tasks_parser().parse_args(argv[1:]))
        evaluate_tasks(a.pop("model"), a.pop("heldout"), a.pop("out"), a.pop("tasks"), a.pop("limit"), **a)
        return 0
    if argv[:1] == ["bleu"]:
        from evaluation.bleu import evaluate_bleu

        a = vars(bleu_parser().parse_args(argv[1:]))
        evaluate_bleu(a.pop("model"), a.pop("pairs"), a.pop("out"), a.pop("fraction"), a.pop("split_seed"),
                      a.pop("limit"), **a)
        return 0
    a = vars(passk_parser().parse_args(argv))
    model, samples, canonical, out = a.pop("model"), a.pop("samples"), a.pop("canonical"), a.pop("out")
    skip = a.pop("skip_without_sandbox")
    settings = {**PRESETS.get(a.pop("preset") or "", {}), **{k: v for k, v in a.items() if v is not None}}
    if skip:
        from evaluation.harness import cannot_execute

        why = cannot_execute(settings)
        if why:
            print(f"pass@k skipped: {why}")
            return 0
    if model:
        from evaluation.harness import evaluate

        evaluate(model, out, **settings)
    else:
        from evaluation.harness import score_samples

        score_samples(samples, out, canonical=canonical, **settings)
    print(f"wrote {out}/eval.json and {out}/samples.jsonl")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
