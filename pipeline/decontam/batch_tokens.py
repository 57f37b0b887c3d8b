"""Decontamination's token and n-gram hashes, and the tokens of a whole Arrow batch found at once with numpy.

A token hashes to fmix64(sum_k byte_k * B^k mod 2^64) over its UTF-8 bytes (the same in every process), an n-gram
to sum_j h_j * M^(n-1-j) mod 2^64. The batch tokeniser gives benchmarks.tokens over the bytes of every text:
a token is a maximal run of ASCII word bytes, or one other character that is neither whitespace (as Python's
`re.ASCII` knows it) nor a quote, `#` or backslash; a backslash's `n`, `t` or `r` (the escapes benchmarks.tokens
turns into whitespace) is dropped with it. The polynomial form hashes every token of a batch from prefix sums.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipeline.span_hashes import span_sums

B = np.uint64(0x100000001B3)          # token polynomial base (odd: invertible mod 2^64)
B_INV = np.uint64(pow(int(B), -1, 1 << 64))
M = np.uint64(0x9E3779B97F4A7C15)     # n-gram combination base (odd)
_FMIX = (np.uint64(33), np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))

_WORD = np.zeros(256, dtype=bool)
_WORD[[ord(c) for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"]] = True
_DROPPED = np.zeros(256, dtype=bool)
_DROPPED[[9, 10, 11, 12, 13, 32] + [ord(c) for c in "\"'`#\\"]] = True
_CONTINUATION = np.zeros(256, dtype=bool)
_CONTINUATION[0x80:0xC0] = True
_ESCAPED = np.zeros(256, dtype=bool)
_ESCAPED[[ord("n"), ord("t"), ord("r")]] = True
_BACKSLASH = ord("\\")
_CHAR_BYTES = np.ones(256, dtype=np.int64)  # bytes of the UTF-8 character a lead byte starts
_CHAR_BYTES[0xC0:0xE0], _CHAR_BYTES[0xE0:0xF0], _CHAR_BYTES[0xF0:] = 2, 3, 4


def _fmix64(h: np.ndarray) -> np.ndarray:
    shift, m1, m2 = _FMIX
    h = h ^ (h >> shift)
    h = h * m1
    h = h ^ (h >> shift)
    h = h * m2
    return h ^ (h >> shift)


def _span_hashes(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The token hash of each byte span buf[start:end], from prefix sums G[i] = sum_{k<i} byte_k * B^k."""
    return _fmix64(span_sums(buf, starts, ends, B, B_INV))


def token_hashes(toks: list[str]) -> np.ndarray:
    """The hash of each token (of benchmarks.tokens), uint64."""
    data = [t.encode("utf-8") for t in toks]
    lengths = np.fromiter(map(len, data), dtype=np.int64, count=len(data))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    return _span_hashes(np.frombuffer(b"".join(data), dtype=np.uint8), starts, ends)


def combine(ids: np.ndarray, n: int) -> np.ndarray:
    """The hash of every run of n consecutive token hashes (len(ids) - n + 1 of them)."""
    m = len(ids) - n + 1
    if m <= 0:
        return np.zeros(0, dtype=np.uint64)
    acc = ids[:m].copy()
    for j in range(1, n):  # acc = sum ids[i + j] * M^(n - 1 - j), wrapping at 2^64
        acc *= M
        acc += ids[j:j + m]
    return acc


def batch_gram_hashes(texts: pa.Array, n: int, chunk_bytes: int = 1 << 18) -> tuple[np.ndarray, np.ndarray]:
    """(hash, row) of every run of n consecutive tokens inside one text of a string batch (nulls hold none): the
    hashes benchmarks.gram_hashes gives each text's tokens. Rows go through in runs of about chunk_bytes, whose
    arrays stay in the CPU's caches (one pass over a whole 40 MB batch took twice as long)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    texts = texts.cast(pa.large_string()) if texts.type != pa.large_string() else texts
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int64)[texts.offset:texts.offset + len(texts) + 1]
    data = texts.buffers()[2]
    if data is None or not len(texts) or offsets[-1] == offsets[0]:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    buf = np.frombuffer(data, dtype=np.uint8)
    grams, rows = [], []
    first = 0
    while first < len(texts):
        last = max(int(np.searchsorted(offsets, offsets[first] + chunk_bytes, side="right")) - 1, first + 1)
        g, r = _chunk_grams(buf[offsets[first]:offsets[last]], offsets[first:last + 1] - offsets[first], n)
        grams.append(g)
        rows.append(r + first)
        first = last
    return np.concatenate(grams), np.concatenate(rows)


def _chunk_grams(buf: np.ndarray, bounds: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """batch_gram_hashes over the bytes of consecutive rows (bounds: each row's start, then the end)."""
    if not len(buf):
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    first = np.zeros(len(buf) + 1, dtype=bool)  # True at each text's first byte (and at the end)
    first[bounds] = True
    after_backslash = np.concatenate(([False], buf[:-1] == _BACKSLASH)) & ~first[:-1]
    index = buf.astype(np.intp)
    escaped = _ESCAPED.take(index) & after_backslash
    word = _WORD.take(index) & ~escaped
    other = ~(word | _DROPPED.take(index) | _CONTINUATION.take(index) | escaped)
    prev_word = np.concatenate(([False], word[:-1])) & ~first[:-1]
    next_word = np.concatenate((word[1:], [False])) & ~first[1:]
    starts = np.flatnonzero((word & ~prev_word) | other)
    ends = np.empty_like(starts)
    is_word = word[starts]
    ends[is_word] = np.flatnonzero(word & ~next_word) + 1
    ends[~is_word] = starts[~is_word] + _CHAR_BYTES.take(index[starts[~is_word]])
    rows = np.searchsorted(bounds, starts, side="right") - 1
    grams = combine(_span_hashes(buf, starts, ends), n)
    m = len(grams)
    inside = rows[:m] == rows[n - 1:n - 1 + m]  # the run does not cross into the next text
    return grams[inside], rows[:m][inside]
