"""The pure part of resampling: per-file draws from the stable id and seed, and how many times a file is used."""
from __future__ import annotations

import hashlib
import math

import pyarrow as pa


def draw(file_id: str, seed: int) -> float:
    """A number in [0, 1) fixed by the file's id and the seed (the same on every run and machine)."""
    digest = hashlib.blake2b(f"{seed}:{file_id}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def draws(ids: pa.Array, seed: int) -> pa.Array:
    return pa.array([draw(i, seed) for i in ids.to_pylist()], pa.float64())


def repeats(weight: float, u: float) -> int:
    """Times a file is used: the whole part of its language's weight, plus one more with the fractional part's
    probability (weight 0.3 keeps 30% of files once; 1.5 uses every file once and half of them twice)."""
    whole = math.floor(weight)
    return whole + (1 if u < weight - whole else 0)


def distribution(rows: list[dict], bytes_per_token: float) -> dict:
    """{language: {files, mb, tokens_m}} from rows of (language, files, bytes)."""
    out = {}
    for r in sorted(rows, key=lambda r: -(r["bytes"] or 0)):
        b = r["bytes"] or 0
        out[r["language"] or "unknown"] = {"files": int(r["files"]), "mb": round(b / 1e6, 3),
                                           "tokens_m": round(b / bytes_per_token / 1e6, 3)}
    return out
