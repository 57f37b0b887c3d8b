"""span_sums: each span's polynomial sum equals the direct one, in 32 and 64 bits, whatever buffer came before."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline.span_hashes import span_sums


def direct(data: bytes, base: int, bits: int) -> int:
    return sum(byte * pow(base, k, 1 << bits) for k, byte in enumerate(data)) % (1 << bits)


@pytest.mark.parametrize("dtype,base", [(np.uint32, 0x01000193), (np.uint64, 0x100000001B3)])
def test_span_sums_equal_the_direct_polynomial(dtype, base):
    bits = np.dtype(dtype).itemsize * 8
    b, b_inv = dtype(base), dtype(pow(base, -1, 1 << bits))
    rng = np.random.default_rng(7)
    for size in (5000, 40, 0, 9000):  # a shorter buffer after a longer one takes a slice of the kept tables
        buf = rng.integers(0, 256, size, dtype=np.uint8)
        cuts = np.sort(rng.integers(0, size + 1, 2 * 25)).reshape(-1, 2) if size else np.zeros((1, 2), np.int64)
        got = span_sums(buf, cuts[:, 0], cuts[:, 1], b, b_inv)
        assert got.dtype == dtype
        assert got.tolist() == [direct(buf[s:e].tobytes(), base, bits) for s, e in cuts]
