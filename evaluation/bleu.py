"""Comment BLEU: the model documents held-out functions from the SFT stage's code–comment pairs; sacrebleu scores it."""
from __future__ import annotations

import json
import time
from pathlib import Path

from evaluation.config import EvalSettings
from schemas.sft_holdout import DEFAULT_FRACTION, DEFAULT_SEED, is_held_out

COLUMNS = ["id", "language", "function_name", "code", "comment"]
BOT_TURN = "<|im_start|>bot\n"
STOPS = ("<|im_end|>", "<|im_start|>")


def read_pairs(sft_pairs: str | Path, fraction: float = DEFAULT_FRACTION, seed: int = DEFAULT_SEED,
               limit: int | None = None) -> list[dict]:
    """Held-out kept pairs of the sft stage (`<run>/sft/status=kept`, the SFT_PAIRS columns), ordered by id: the
    pairs `pipeline tokenize` in sft mode leaves out with the same fraction and seed (tokenize.sft_holdout_*)."""
    import pyarrow.parquet as pq

    rows = pq.read_table(str(sft_pairs), columns=COLUMNS).to_pylist()
    chosen = sorted((r for r in rows if r["code"] and r["comment"] and is_held_out(r["id"], fraction, seed)),
                    key=lambda r: r["id"])
    return chosen[:limit] if limit else chosen


def prompt(pair: dict) -> str:
    """The SFT stage's own annotate conversation (English template) up to the bot's turn."""
    from schemas.chatml import conversation, render_text

    messages = conversation(pair, "annotate", zh_share=0.0)["messages"]
    return render_text(messages[:2]) + BOT_TURN


def corpus_bleu(hypotheses: list[str], references: list[str]) -> float:
    """sacrebleu's corpus BLEU (13a tokenization, one reference per hypothesis), 0 to 100."""
    import sacrebleu

    return float(sacrebleu.corpus_bleu(hypotheses, [references]).score)


def evaluate_bleu(model_dir: str | Path, sft_pairs: str | Path, out_dir: str | Path,
                  fraction: float = DEFAULT_FRACTION, split_seed: int = DEFAULT_SEED, limit: int | None = 200,
                  **settings) -> dict:
    """Generate a comment for each held-out pair, score with BLEU, write out_dir/bleu.json and bleu_samples.jsonl.
    settings: generation fields of EvalSettings (mode, max_new_tokens, batch_size, seed, device, progress)."""
    from evaluation.generate import complete, load

    s = EvalSettings.from_kwargs(**{"max_new_tokens": 64, **settings})
    pairs = read_pairs(sft_pairs, fraction, split_seed, limit)
    if not pairs:
        raise ValueError(f"no held-out pairs in {sft_pairs} at fraction={fraction}: raise the fraction")
    start = time.perf_counter()
    model, tok = load(model_dir, s.device)
    made = complete(model, tok, [prompt(p) for p in pairs], STOPS, s, desc="comments")
    hypotheses = [texts[0].strip() for texts in made]
    references = [p["comment"].strip() for p in pairs]
    report = {"model": str(model_dir), "sft_pairs": str(sft_pairs), "pairs": len(pairs), "fraction": fraction,
              "split_seed": split_seed, "bleu": corpus_bleu(hypotheses, references), "settings": s.as_dict(),
              "seconds": round(time.perf_counter() - start, 3)}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bleu_samples.jsonl").write_text("".join(
        json.dumps({"id": p["id"], "reference": r, "hypothesis": h}) + "\n"
        for p, r, h in zip(pairs, references, hypotheses)), encoding="utf-8")
    (out / "bleu.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"comment BLEU {report['bleu']:.2f} over {len(pairs)} held-out pairs", flush=True)
    return report
