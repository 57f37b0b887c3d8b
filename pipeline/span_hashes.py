"""Polynomial hashes of many byte spans at once: sum_k byte_k * base^k over each span, from prefix sums of one buffer.

G[i] = sum_{k<i} byte_k * base^k (mod 2^bits); a span [s, e) hashes to (G[e] - G[s]) * base^-s, which needs an odd
base (invertible mod 2^bits). The power tables are built once per process and dtype, grown to the longest buffer
seen. Near-dedup's MinHash (32-bit) and decontamination (64-bit) both hash their tokens so.
"""
from __future__ import annotations

import numpy as np

_TABLES: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}  # (dtype, base) -> (base^k, base^-k) for k < len


def _powers(base, base_inv, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(base^k, base^-k) for k = 0..n, in base's dtype, wrapping at its width."""
    key = (base.dtype, int(base))
    have = _TABLES.get(key)
    if have is None or len(have[0]) <= n:
        size = max(n + 1, 2 * len(have[0]) if have is not None else 0)
        tables = []
        for b in (base, base_inv):
            t = np.empty(size, dtype=base.dtype)
            t[0] = 1
            t[1:] = b
            tables.append(np.cumprod(t, out=t))
        have = _TABLES[key] = (tables[0], tables[1])
    return have[0][:n + 1], have[1][:n + 1]


def span_sums(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, base, base_inv) -> np.ndarray:
    """sum_k buf[start + k] * base^k for each span [start, end) of the uint8 buffer, in base's dtype (`base_inv`:
    base's inverse in that width). Callers apply their own finaliser."""
    n = len(buf)
    powers, inverse = _powers(base, base_inv, n)
    prefix = np.zeros(n + 1, dtype=base.dtype)
    np.cumsum(np.multiply(buf, powers[:-1], dtype=base.dtype), out=prefix[1:])
    return (prefix[ends] - prefix[starts]) * inverse[starts]
