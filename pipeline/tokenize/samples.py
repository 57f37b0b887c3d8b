"""Task samples (sft mode): kept pairs and chat_rounds lines to ChatML messages with their task id, each one decided
kept for training (how many copies), held out, or rejected with its reason. Pure mapInArrow bodies."""
from __future__ import annotations

import hashlib

import pyarrow as pa

from pipeline import reasons
from pipeline.tokenize.chat_rounds import parse_line
from pipeline.tokenize.tasks import REJECTED, TaskSpec, fate
from schemas.chatml import PAIR_TASK_TEMPLATES, conversation
from schemas.sft_holdout import MESSAGES

RAW_CHARS = 1000  # of a rejected line kept in the rejects table
PAIR_COLUMNS = ["id", "language", "function_name", "code", "comment"]
SAMPLES = pa.schema([
    pa.field("id", pa.string(), nullable=False),           # stable: a hash of (pair id, task) or (task, line)
    pa.field("task", pa.string(), nullable=False),
    pa.field("task_id", pa.int16(), nullable=False),
    pa.field("holdout_key", pa.string(), nullable=False),  # what the hold-out rule hashes: pair id or sample id
    pa.field("messages", MESSAGES),
    pa.field("split", pa.string(), nullable=False),        # train | held_out | rejected
    pa.field("copies", pa.int32(), nullable=False),        # train: times it is packed (0: drawn out by the weight)
    pa.field("reject_reason", pa.string()),
    pa.field("reject_detail", pa.string()),
    pa.field("raw", pa.string()),                          # rejected chat line: its first RAW_CHARS characters
    pa.field("file", pa.string()),                         # chat_rounds: the file the line came from
])


def sample_id(*parts: str) -> str:
    return hashlib.blake2b(":".join(parts).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _row(sid: str, spec: TaskSpec, key: str, messages, holdout, seed: int, reason=None, detail=None, raw=None,
         file=None) -> dict:
    split, copies = (REJECTED, 0) if reason else fate(key, sid, spec.weight, holdout, seed)
    return {"id": sid, "task": spec.name, "task_id": spec.task_id, "holdout_key": key, "messages": messages,
            "split": split, "copies": copies, "reject_reason": reason, "reject_detail": detail, "raw": raw,
            "file": file}


def pair_rows(pair: dict, specs: list[TaskSpec], holdout: tuple[float, int], seed: int) -> list[dict]:
    """One sample per pair task: comment_generation (code -> comment, the annotate templates) and code_generation
    (signature and comment -> code)."""
    missing = [k for k in PAIR_COLUMNS[1:] if not (pair.get(k) or "").strip()]
    out = []
    signature = None
    for spec in specs:
        sid = sample_id(pair["id"], spec.name)
        if missing:
            out.append(_row(sid, spec, pair["id"], None, holdout, seed, reasons.SFT_PAIR_INCOMPLETE,
                            f"pair {pair['id']} has no {', '.join(missing)}"))
            continue
        if spec.name == "code_generation" and signature is None:
            from pipeline.sft.signature import signature as head
            signature = head(pair["code"], pair["language"])
        conv = conversation({**pair, "signature": signature}, PAIR_TASK_TEMPLATES[spec.name], spec.zh_share)
        out.append(_row(sid, spec, pair["id"], conv["messages"], holdout, seed))
    return out


def pair_batches(batches, specs: list[TaskSpec], holdout: tuple[float, int], seed: int):
    """mapInArrow body: kept pairs in, SAMPLES out (one row per pair and pair task)."""
    for batch in batches:
        rows = [r for p in batch.select(PAIR_COLUMNS).to_pylist() for r in pair_rows(p, specs, holdout, seed)]
        yield pa.RecordBatch.from_pylist(rows, schema=SAMPLES)


def chat_row(line: str | None, file: str | None, spec: TaskSpec, holdout: tuple[float, int], seed: int) -> dict:
    """One chat_rounds line as a sample, or a rejected row quoting the line. Identical lines share an id, so the
    hold-out rule never splits copies of one conversation between training and evaluation."""
    sid = sample_id(spec.name, line or "")
    messages, reason, detail = parse_line(line)
    raw = None if reason is None else (line or "")[:RAW_CHARS]
    return _row(sid, spec, sid, messages, holdout, seed, reason, detail, raw, file)


def chat_batches(batches, spec: TaskSpec, holdout: tuple[float, int], seed: int):
    """mapInArrow body: lines (value, file) in, SAMPLES out (one row per line)."""
    for batch in batches:
        lines, files = batch.column("value").to_pylist(), batch.column("file").to_pylist()
        yield pa.RecordBatch.from_pylist([chat_row(v, f, spec, holdout, seed) for v, f in zip(lines, files)],
                                         schema=SAMPLES)
