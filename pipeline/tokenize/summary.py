"""The tokenize job's counts, reconciled: documents in = packed + rejected, tokens in = tokens in rows - pads; in sft
mode per task as well: rows in = available + held out + rejected, and the copies taken = packed + rejected."""
from __future__ import annotations

from collections import Counter

# what the manifest's config carries per task (the rest stays in stats.json)
MANIFEST_TASK_KEYS = ("id", "available", "taken", "held_out", "rejected", "packed_documents", "tokens", "loss_tokens")


def _reconcile_error(what: str) -> RuntimeError:
    return RuntimeError(f"tokenize does not reconcile: {what}")


def task_summary(bucket_stats: list[dict], inputs: dict[str, dict]) -> dict[str, dict]:
    """Each task's input counts (sft_input.task_counts: rows in, rejected by reason, held out, available, taken)
    joined with what the pack made of its copies: documents, packed documents, tokens, loss tokens, and copies that
    gave no tokens (pack_rejected_by_reason; the input checks leave none in practice)."""
    by_id = {t["id"]: name for name, t in inputs.items()}
    out = {name: {**t, "documents": 0, "packed_documents": 0, "tokens": 0, "loss_tokens": 0,
                  "pack_rejected_by_reason": Counter()} for name, t in inputs.items()}
    for s in bucket_stats:
        for tid, counts in s.get("by_task", {}).items():
            t = out[by_id[int(tid)]]
            for k in ("documents", "packed_documents", "tokens", "loss_tokens"):
                t[k] += counts[k]
            t["pack_rejected_by_reason"].update(counts["rejected_by_reason"])
    for name, t in out.items():
        t["pack_rejected_by_reason"] = dict(sorted(t["pack_rejected_by_reason"].items()))
        if t["rows_in"] != t["available"] + t["held_out"] + t["rejected"]:
            raise _reconcile_error(f"task {name}: {t['rows_in']} rows in != {t['available']} available + "
                                   f"{t['held_out']} held out + {t['rejected']} rejected")
        if not t["taken"] == t["documents"] == t["packed_documents"] + sum(t["pack_rejected_by_reason"].values()):
            raise _reconcile_error(f"task {name}: {t['taken']} copies taken, {t['documents']} reached the pack, "
                                   f"{t['packed_documents']} packed, {t['pack_rejected_by_reason']} rejected")
    return out


def summarize(stats: dict, n_rows: int, n_pad: int, row_len: int, n_shards: int, mode: str, tokenizer_sha256: str,
              task_inputs: dict[str, dict] | None = None) -> dict:
    """The summary written to stats.json (and, shortened, printed)."""
    total = {k: sum(s[k] for s in stats.values()) for k in ("documents", "packed_documents", "bytes", "tokens",
                                                             "fim_psm", "fim_spm")}
    rejected: Counter = Counter()
    for s in stats.values():
        rejected.update(s["rejected_by_reason"])
    in_rows = n_rows * row_len
    lost = total["tokens"] - (in_rows - n_pad)
    if total["documents"] != total["packed_documents"] + sum(rejected.values()) or lost != 0:
        raise _reconcile_error(f"{total}, rejected {dict(rejected)}, {lost} tokens lost")
    out = {**total, "rejected_by_reason": dict(sorted(rejected.items())), "rows": n_rows, "shards": n_shards,
           "tokens_in_rows": in_rows, "pad_tokens": n_pad, "tokens_lost": lost, "mode": mode,
           "bytes_per_token": round(total["bytes"] / max(total["tokens"], 1), 3), "tokenizer_sha256": tokenizer_sha256}
    if task_inputs is not None:
        out["tasks"] = task_summary(list(stats.values()), task_inputs)
    return out


def manifest_task_counts(summary: dict) -> dict[str, dict]:
    """The per-task figures the manifest's config carries for the trainer (sft mode)."""
    return {name: {k: t[k] for k in MANIFEST_TASK_KEYS} for name, t in summary.get("tasks", {}).items()}
