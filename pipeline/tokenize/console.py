"""What tokenizer-train and tokenize print: a few lines each; the whole JSON stays on disk beside the outputs."""
from __future__ import annotations

from collections import Counter

from pipeline.tokenize.job import STATS_NAME
from pipeline.tokenizer.save import TRAINING_JSON
from schemas import MANIFEST_NAME


def _folder(uri: str) -> str:
    return uri.removeprefix("file://").rstrip("/")


def tokenize_table(summary: dict) -> str:
    """The tokenize summary as a short table: documents (packed, rejected by reason), tokens and rows, where the
    manifest and the full stats are."""
    times = summary.get("times", {})
    rejected = sum(summary["rejected_by_reason"].values())
    lines = [
        f"tokenize    {summary['status']}, mode {summary['mode']}"
        + (f", {times['total_s']:.1f} s" if "total_s" in times else ""),
        f"documents   {summary['documents']:>14,} in    {summary['packed_documents']:>12,} packed  "
        f"{rejected:>10,} rejected",
        *[f"  rejected: {reason:<26} {n:>12,}" for reason, n in summary["rejected_by_reason"].items()],
        f"tokens      {summary['tokens']:>14,} in    {summary['rows']:>12,} rows    {summary['shards']:>10,} shards",
        f"            {summary['pad_tokens']:>14,} pad   {summary['tokens_lost']:>12,} lost    "
        f"{summary['bytes_per_token']:>10} bytes/token",
    ]
    lines += task_lines(summary.get("tasks", {}))
    if "output" in summary:
        out = _folder(summary["output"])
        lines += [f"manifest:   {out}/{MANIFEST_NAME}", f"stats:      {out}/{STATS_NAME}"]
    return "\n".join(lines)


def task_lines(tasks: dict) -> list[str]:
    """sft mode: one line per task (id order) with its rows in, samples available, copies taken, tokens, held-out
    and rejected samples; a line under it per reject reason."""
    if not tasks:
        return []
    width = max(12, *(len(name) for name in tasks))
    lines = [f"{'task':<{width + 2}} {'in':>10} {'available':>10} {'taken':>10} {'tokens':>12} {'held out':>9} "
             f"{'rejected':>9}"]
    for name, t in sorted(tasks.items(), key=lambda kv: kv[1]["id"]):
        lines.append(f"  {name:<{width}} {t['rows_in']:>10,} {t['available']:>10,} {t['taken']:>10,} "
                     f"{t['tokens']:>12,} {t['held_out']:>9,} {t['rejected']:>9,}")
        reasons = Counter(t["rejected_by_reason"]) + Counter(t.get("pack_rejected_by_reason", {}))
        lines += [f"    rejected: {reason:<26} {n:>10,}" for reason, n in sorted(reasons.items())]
    return lines


def tokenizer_table(stats: dict) -> str:
    """tokenizer-train's stats in three lines."""
    out = _folder(stats["output"])
    return "\n".join([
        f"tokenizer   vocab {stats['vocab_size']:,} from {stats['documents']:,} documents "
        f"({stats['bytes'] / 1e6:.1f} MB), {stats['merges']:,} merges",
        f"folder:     {out}",
        f"stats:      {out}/{TRAINING_JSON}",
    ])
