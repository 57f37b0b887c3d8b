"""Per-task evaluation of a fine-tuned model on the samples `pipeline tokenize` held out of its SFT shards
(<tokens>/heldout): BLEU of the model's answers against the references for text tasks (comment_generation and
chat_rounds tasks); for code_generation the measure is HumanEval pass@k, and this names the command that gives it."""
from __future__ import annotations

import json
import time
from pathlib import Path

from evaluation.bleu import BOT_TURN, STOPS, corpus_bleu
from evaluation.config import EvalSettings
from schemas.chatml import render_text

# tasks whose figure comes from executing code, not from comparing text: the command that gives it
PASSK_COMMANDS = {"code_generation": "python -m evaluation --model {model} --preset sample"}


def read_heldout(path: str | Path, tasks: list[str] | None = None) -> dict[str, list[dict]]:
    """Held-out samples by task, each task's in id order: `path` is the heldout folder (JSON-lines part files, as
    the tokenize stage writes it) or one JSONL file; `tasks` keeps only those (a name not there is an error)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl") and not p.name.startswith("."))
    elif path.is_file():
        files = [path]
    else:
        raise FileNotFoundError(f"{path} does not exist: give <tokens>/heldout of an sft-mode tokenize output")
    by_task: dict[str, list[dict]] = {}
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                by_task.setdefault(row["task"], []).append(
                    {"id": row["id"], "messages": row["messages"], "reference": row["reference"]})
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(f"{f}:{n} is not a held-out sample (task, id, messages, reference): {e}") from None
    missing = sorted(set(tasks or ()) - set(by_task))
    if missing:
        raise ValueError(f"no held-out samples of {missing} in {path}; it holds {sorted(by_task)}")
    chosen = {t: sorted(rows, key=lambda r: r["id"]) for t, rows in sorted(by_task.items())
              if not tasks or t in tasks}
    return chosen


def prompt(sample: dict) -> str:
    """The sample's turns in ChatML, then the bot's turn opened for the model to write."""
    return render_text(sample["messages"]) + BOT_TURN


def evaluate_tasks(model_dir: str | Path, heldout: str | Path, out_dir: str | Path, tasks: list[str] | None = None,
                   limit: int | None = 200, **settings) -> dict:
    """Score each task's first `limit` held-out samples (by id); write out_dir/sft_tasks.json and
    sft_tasks_samples.jsonl. settings: generation fields of EvalSettings (max_new_tokens, batch_size, device...)."""
    s = EvalSettings.from_kwargs(**{"max_new_tokens": 128, **settings})
    by_task = read_heldout(heldout, tasks)
    start = time.perf_counter()
    report: dict = {"model": str(model_dir), "heldout": str(heldout), "limit": limit, "settings": s.as_dict(),
                    "tasks": {}}
    scored_rows = []
    model = tok = None
    for task, rows in by_task.items():
        if task in PASSK_COMMANDS:
            report["tasks"][task] = {"held_out": len(rows), "measure": "pass@k (HumanEval)", "scored": False,
                                     "command": PASSK_COMMANDS[task].format(model=model_dir)}
            continue
        if model is None:
            from evaluation.generate import complete, load

            model, tok = load(model_dir, s.device)
        chosen = rows[:limit] if limit else rows
        made = complete(model, tok, [prompt(r) for r in chosen], STOPS, s, desc=task)
        hypotheses = [texts[0].strip() for texts in made]
        references = [r["reference"].strip() for r in chosen]
        report["tasks"][task] = {"held_out": len(rows), "scored": len(chosen), "measure": "BLEU",
                                 "bleu": corpus_bleu(hypotheses, references)}
        scored_rows += [{"task": task, "id": r["id"], "reference": ref, "hypothesis": h}
                        for r, ref, h in zip(chosen, references, hypotheses)]
    report["seconds"] = round(time.perf_counter() - start, 3)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sft_tasks_samples.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                                         for r in scored_rows), encoding="utf-8")
    (out / "sft_tasks.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(report), flush=True)
    return report


def table(report: dict) -> str:
    """One line per task: its figure, or the command that gives it."""
    lines = []
    for task, r in report["tasks"].items():
        if r["measure"] == "BLEU":
            lines.append(f"{task:<24} BLEU {r['bleu']:6.2f} over {r['scored']:,} of {r['held_out']:,} held-out samples")
        else:
            lines.append(f"{task:<24} {r['measure']}: not scored here ({r['held_out']:,} held-out samples); "
                         f"run `{r['command']}`")
    return "\n".join(lines)
