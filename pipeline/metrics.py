"""Per-file text metrics (size, lines, line lengths, alphanumeric share), vectorised over an Arrow string array."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_NOT_ALNUM = r"[^\p{L}\p{N}]+"
_ASCII_ALNUM = np.zeros(256, dtype=np.uint8)
_ASCII_ALNUM[[ord(c) for c in "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"]] = 1


def text_metrics(texts: pa.Array) -> dict[str, pa.Array]:
    """size_bytes, n_lines, avg_line_len, max_line_len, alnum_frac for each text; nulls stay null.

    A line is what lies between newlines; a final newline does not start another line; lengths are in
    characters (code points), the newline itself excluded.
    """
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    texts = texts.cast(pa.string())
    n_chars = pc.utf8_length(texts)
    newlines = pc.count_substring(texts, "\n")
    trailing = pc.if_else(pc.or_(pc.ends_with(texts, "\n"), pc.equal(n_chars, 0)), 0, 1)
    n_lines = pc.add(newlines, trailing)
    line_chars = pc.subtract(n_chars, newlines)
    avg = pc.if_else(pc.greater(n_lines, 0), pc.divide(pc.cast(line_chars, pa.float64()), n_lines), 0.0)
    alnum = _alnum_counts(texts)
    frac = pc.if_else(pc.greater(n_chars, 0), pc.divide(pc.cast(alnum, pa.float64()), n_chars), 0.0)
    return {
        "size_bytes": pc.binary_length(texts).cast(pa.int64()),
        "n_lines": n_lines.cast(pa.int32()),
        "avg_line_len": avg.cast(pa.float32()),
        "max_line_len": _max_line_len(texts),
        "alnum_frac": frac.cast(pa.float32()),
    }


def _max_line_len(texts: pa.StringArray) -> pa.Array:
    lines = pc.split_pattern(texts.fill_null(""), "\n")  # one list per text, never empty
    lengths = pc.utf8_length(lines.flatten()).to_numpy(zero_copy_only=False)
    offsets = lines.offsets.to_numpy()[:-1] - lines.offsets[0].as_py()
    if len(lengths) == 0:
        return pa.array(np.zeros(len(texts), dtype=np.int32), mask=texts.is_null().to_numpy(zero_copy_only=False))
    longest = np.maximum.reduceat(lengths, offsets).astype(np.int32)
    return pa.array(longest, mask=texts.is_null().to_numpy(zero_copy_only=False))


def _alnum_counts(texts: pa.StringArray) -> pa.Array:
    """Letters and digits per text (Unicode classes L and N): a byte table for ASCII texts, a regex otherwise."""
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int32)[texts.offset:texts.offset + len(texts) + 1]
    offsets = offsets.astype(np.int64)
    data = texts.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    flags = _ASCII_ALNUM[data[offsets[0]:offsets[-1]]]
    rel = offsets - offsets[0]
    counts = np.zeros(len(texts), dtype=np.int64)
    # a sum per text in one pass (a running sum would be 8 bytes per byte of text); reduceat's segment of a text
    # runs to the next non-empty text's start, so the empty texts between them add nothing to it
    filled = np.flatnonzero(rel[1:] > rel[:-1])
    if len(filled):
        counts[filled] = np.add.reduceat(flags, rel[:-1][filled], dtype=np.int64)
    non_ascii = np.flatnonzero(~pc.string_is_ascii(texts).fill_null(True).to_numpy(zero_copy_only=False))
    if len(non_ascii):
        exact = pc.utf8_length(pc.replace_substring_regex(texts.take(non_ascii), _NOT_ALNUM, ""))
        counts[non_ascii] = exact.to_numpy(zero_copy_only=False)
    return pa.array(counts, mask=texts.is_null().to_numpy(zero_copy_only=False))
