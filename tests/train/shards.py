"""Test shards from real text: bytes of Python's own stdlib sources folded into the debug vocabulary."""
from __future__ import annotations

import sysconfig
from pathlib import Path

import numpy as np

from train.shards import write_shards

STDLIB = Path(sysconfig.get_paths()["stdlib"])
FILES = ["json/decoder.py", "json/encoder.py", "textwrap.py", "shlex.py", "glob.py", "fnmatch.py", "bisect.py",
         "heapq.py", "string.py", "keyword.py"]
EOS = 0


def real_token_shards(out: Path, seq_len: int = 32, rows: int = 96, vocab_size: int = 256, sft: bool = False,
                      rows_per_shard: int = 24) -> Path:
    """Pack stdlib files (one byte = one token, 0 = end of document) into rows of seq_len + 1, with doc_starts
    where a file begins; sft=True adds a loss mask counting the second half of each row."""
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
    return write_shards(out, ids, vocab_size, doc_starts=doc_starts, loss_mask=mask, rows_per_shard=rows_per_shard,
                        eos_id=EOS, pad_id=EOS, config={"writer": "tests.train.shards", "files": FILES})
