"""Test shards from real text: the pipeline's own tokenizer and tokenize stage when present, else bytes of Python's
stdlib sources folded into a small vocabulary."""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from train.shards import write_shards

STDLIB = Path(sysconfig.get_paths()["stdlib"])
FILES = ["json/decoder.py", "json/encoder.py", "textwrap.py", "shlex.py", "glob.py", "fnmatch.py", "bisect.py",
         "heapq.py", "string.py", "keyword.py"]
EOS = 0


def real_token_shards(out: Path, seq_len: int = 32, rows: int = 96, vocab_size: int = 256, sft: bool = False,
                      rows_per_shard: int = 24, tasks: tuple[str, ...] = ()) -> Path:
    """Pack stdlib files (one byte = one token, 0 = end of document) into rows of seq_len + 1, with doc_starts
    where a file begins; sft=True adds a loss mask counting the second half of each row. tasks (sft): per-token
    task_ids, see task_layout."""
    stream, starts_at = [], []
    for name in FILES:
        data = (STDLIB / name).read_bytes()
        starts_at.append(len(stream))
        stream.extend(b % (vocab_size - 1) + 1 for b in data)
        stream.append(EOS)
    width = seq_len + 1
    if len(stream) < rows * width:
        raise ValueError("not enough text for the requested rows")
    ids = np.array(stream[: rows * width], dtype=np.int64).reshape(rows, width)
    doc_starts = []
    for r in range(rows):
        lo = r * width
        inside = [s - lo for s in starts_at if lo < s < lo + width]
        doc_starts.append([0] + inside)
    mask = None
    if sft:
        mask = np.zeros((rows, width), dtype=np.uint8)
        mask[:, width // 2:] = 1
    task_ids = task_layout(rows, width, len(tasks)) if tasks else None
    return write_shards(out, ids, vocab_size, doc_starts=doc_starts, loss_mask=mask, rows_per_shard=rows_per_shard,
                        eos_id=EOS, pad_id=EOS, config={"writer": "tests.train.shards", "files": FILES},
                        task_ids=task_ids, tasks=tasks)


def task_layout(rows: int, width: int, num_tasks: int) -> np.ndarray:
    """task_ids [rows, width]: row r is task r % num_tasks, except that every third row (r % 3 == 0) hands its last
    quarter to the next task (a row mixing two tasks); the first two ids are -1 (padding, never counted by the
    sft mask, which covers the second half)."""
    ids = np.repeat((np.arange(rows) % num_tasks)[:, None], width, axis=1).astype(np.int16)
    mixed = np.arange(rows) % 3 == 0
    ids[mixed, width - width // 4:] = ((np.arange(rows)[mixed] + 1) % num_tasks)[:, None]
    ids[:, :2] = -1
    return ids


def pipeline_token_shards(out: Path, seq_len: int = 64, vocab_size: int = 3000) -> Path | None:
    """Shards made by the pipeline itself (`python -m pipeline tokenizer-train`, then `tokenize` on Spark local[2])
    from stdlib sources, when this checkout has the tokenize stage; None otherwise. TRAIN_TEST_PIPELINE_ROOT may
    point at another checkout that has it."""
    root = Path(os.environ.get("TRAIN_TEST_PIPELINE_ROOT", Path(__file__).resolve().parents[2]))
    if not (root / "pipeline" / "tokenize").is_dir():
        return None
    code = out / "code"
    code.mkdir(parents=True)
    files = sorted((STDLIB / "json").glob("*.py")) + sorted((STDLIB / "email").glob("*.py")) + \
        [STDLIB / f for f in FILES if "/" not in f]
    for p in files:
        (code / f"{p.parent.name}_{p.name}").write_text(p.read_text())
    table = out / "files.parquet"
    pq.write_table(pa.Table.from_pylist([{"id": p.name, "content": p.read_text()} for p in sorted(code.iterdir())]),
                   table)
    env = {**os.environ, "PYTHONPATH": str(root)}
    run = out / "run"
    for args in (["tokenizer-train", "--input", str(code), "--output", str(run),
                  "--set", f"tokenizer.vocab_size={vocab_size}"],
                 ["tokenize", "--input", str(table), "--output", str(run), "--set", f"tokenize.seq_len={seq_len}",
                  "--set", "tokenize.pack_buckets=2", "--set", "spark.master=local[2]",
                  "--set", "spark.shuffle_partitions=2"]):
        r = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=root, env=env, capture_output=True,
                           text=True, timeout=600)
        if r.returncode:
            raise RuntimeError(f"pipeline {args[0]} failed:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}")
    return run / "tokens" / "manifest.json"
