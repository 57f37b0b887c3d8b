"""The deterministic training sample: a stable hash of each record's key decides whether it is trained on."""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path


def draw(key: str, seed: int) -> float:
    """A number in [0, 1) fixed by (seed, key): the same on every run and machine."""
    h = hashlib.blake2b(f"{seed}:{key}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2**64


def in_sample(key: str, seed: int, fraction: float) -> bool:
    return draw(key, seed) < fraction


def fraction_for(budget_bytes: int, total_bytes: int) -> float:
    return 1.0 if total_bytes <= budget_bytes else budget_bytes / total_bytes


def folder_files(root: str) -> list[tuple[str, Path]]:
    """(key, path) of every regular file under `root`, sorted; the key is the path relative to `root`."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in filenames:
            p = Path(dirpath) / name
            if p.is_file() and not p.is_symlink():
                out.append((str(p.relative_to(root)), p))
    return sorted(out)


def read_text(path: Path) -> str | None:
    """The file as UTF-8 text, or None when it is not (binary or another encoding: not trained on)."""
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def chunks(text: str, chunk_chars: int) -> list[str]:
    """`text` cut after the line ending nearest past every `chunk_chars` characters (whole lines only)."""
    out, start = [], 0
    while start < len(text):
        end = text.find("\n", start + chunk_chars)
        end = len(text) if end < 0 else end + 1
        out.append(text[start:end])
        start = end
    return out


def folder_sample(root: str, seed: int, budget_bytes: int, held_out: bool = False,
                  chunk_chars: int = 0) -> Iterator[tuple[str, str]]:
    """(key, text) of the files of `root` in the sample (or, with held_out, outside it). With chunk_chars, each
    file is cut into line-aligned chunks keyed 'path#n', sampled one by one (one large text file then gives both
    training and held-out text)."""
    files = folder_files(root)
    fraction = fraction_for(budget_bytes, sum(p.stat().st_size for _, p in files))
    for key, path in files:
        if not chunk_chars:
            if in_sample(key, seed, fraction) != held_out and (text := read_text(path)):
                yield key, text
            continue
        text = read_text(path)
        for n, piece in enumerate(chunks(text, chunk_chars) if text else []):
            if in_sample(f"{key}#{n}", seed, fraction) != held_out:
                yield f"{key}#{n}", piece


def table_sample(uri: str, seed: int, budget_bytes: int, held_out: bool = False) -> Iterator[tuple[str, str]]:
    """(id, content) of a files table's rows (Parquet with id, content, size_bytes) in the sample, by id."""
    import pyarrow.dataset as ds

    dataset = ds.dataset(uri.removeprefix("file://"), format="parquet")
    total = sum(v or 0 for v in dataset.to_table(columns=["size_bytes"]).column("size_bytes").to_pylist())
    fraction = fraction_for(budget_bytes, total)
    for batch in dataset.to_batches(columns=["id", "content"]):
        for key, text in zip(batch.column("id").to_pylist(), batch.column("content").to_pylist()):
            if text and in_sample(key, seed, fraction) != held_out:
                yield key, text
