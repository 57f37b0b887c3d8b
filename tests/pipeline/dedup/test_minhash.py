"""MinHash signatures: the vectorised code equals datasketch (affine32) fed the pure-Python shingles and hash."""
from __future__ import annotations

import functools
import pathlib
import sysconfig

import numpy as np
import pyarrow as pa
import pytest
from datasketch import MinHash

from pipeline.dedup.minhash import (
    MINHASH_STEP,
    exact_jaccard,
    permutations,
    shingle_hash32,
    shingles,
    signatures,
    tokens,
)
from pipeline.dedup.near import estimated_jaccard

MAX = 0xFFFFFFFF
# the reference hash, memoised: the same function, so shingles shared across parameter sets hash once
_hash32 = functools.lru_cache(maxsize=None)(shingle_hash32)


@functools.lru_cache(maxsize=1)
def stdlib_texts() -> tuple[str, ...]:
    """30 real Python files of 1-12 KB from the standard library, in name order."""
    root = pathlib.Path(sysconfig.get_paths()["stdlib"])
    files = [p for p in sorted(root.glob("*.py")) if 1_000 <= p.stat().st_size <= 12_000][:30]
    assert len(files) == 30
    return tuple(p.read_text(encoding="utf-8") for p in files)


ODD = [
    "def grüße(naïve):\n    return naïve + 'café'  # accents\n",
    "变量 = 计算(参数, 值)\n打印(变量)  # 中文注释\nx = 1\n",
    "let 🚀 = launch(🛰️); // emoji 😀 in code\nconsole.log(🚀)\n",
    "int main() {\r\n\treturn 0;\r\n}\r\n\tfoo(bar,\tbaz);\r\n",
    "!!! ### $$$ %%% ^^^ &&& *** ((( ))) {{{ }}} ;;; ::: ,,, ... ??? ~~~",
    "a\x0bb\x0cc d\te\rf\ng = h_1 + __init__ - 0x1F * 3.14e-2",
]


def reference(text: str, n: int, num_perm: int, seed: int) -> np.ndarray:
    m = MinHash(num_perm=num_perm, seed=seed, hashfunc=_hash32)
    m.update_batch(shingles(text.encode("utf-8"), n))
    return m.hashvalues


def assert_matches_datasketch(texts: list[str], n: int, num_perm: int, seed: int):
    sig, counts = signatures(pa.array(texts), n, num_perm, seed, min_tokens=1)
    assert sig.shape == (len(texts), num_perm) and sig.dtype == np.uint32
    for i, text in enumerate(texts):
        assert counts[i] == len(tokens(text.encode("utf-8")))
        assert counts[i] >= n  # every text here is long enough to be MinHashed
        np.testing.assert_array_equal(sig[i], reference(text, n, num_perm, seed), err_msg=f"text {i}")


def test_stdlib_files_equal_datasketch_at_the_default_parameters():
    assert_matches_datasketch(list(stdlib_texts()), n=5, num_perm=256, seed=1)


@pytest.mark.parametrize("seed", [1, 7, 42])
@pytest.mark.parametrize("num_perm", [16, 128, 256])
@pytest.mark.parametrize("n", [1, 3, 5])
def test_equal_datasketch_across_seeds_sizes_and_shingles(seed, num_perm, n):
    assert_matches_datasketch(ODD + list(stdlib_texts()[:3]), n=n, num_perm=num_perm, seed=seed)


def test_non_ascii_bytes_are_word_bytes_and_whitespace_never_a_token():
    assert tokens("grüße(x)".encode()) == ["grüße".encode(), b"(", b"x", b")"]
    assert tokens("a😀b 中文\r\n\tc".encode()) == ["a😀b".encode(), "中文".encode(), b"c"]
    assert tokens(b"x+=1;") == [b"x", b"+", b"=", b"1", b";"]
    assert tokens(b" \t\r\n\x0b\x0c") == []


def test_short_texts_report_their_token_count_and_get_the_skip_signature():
    texts = ["a b c d", "x = 1", "(", "one two three four five six"]
    sig, counts = signatures(pa.array(texts), 5, 16, 1, min_tokens=6)
    assert counts.tolist() == [4, 3, 1, 6]
    # fewer than max(n, min_tokens) = 6 tokens: all 0xFFFFFFFF, for the caller to skip
    assert (sig[:3] == MAX).all()
    np.testing.assert_array_equal(sig[3], reference(texts[3], 5, 16, 1))
    # enough tokens for a 5-shingle but under min_tokens: still skipped
    sig, counts = signatures(pa.array(["a b c d e f g"]), 5, 16, 1, min_tokens=20)
    assert counts.tolist() == [7] and (sig == MAX).all()


def test_empty_array_and_null_entries():
    sig, counts = signatures(pa.array([], pa.string()), 5, 16, 1, min_tokens=1)
    assert sig.shape == (0, 16) and counts.shape == (0,)
    text = "def f(a, b):\n    return a + b\n"
    sig, counts = signatures(pa.array([None, text, None, "", text]), 3, 16, 1, min_tokens=1)
    assert counts.tolist() == [0, 12, 0, 0, 12]
    assert (sig[[0, 2, 3]] == MAX).all()
    np.testing.assert_array_equal(sig[1], reference(text, 3, 16, 1))
    np.testing.assert_array_equal(sig[4], sig[1])
    all_null, counts = signatures(pa.array([None, None], pa.string()), 3, 16, 1, min_tokens=1)
    assert counts.tolist() == [0, 0] and (all_null == MAX).all()


def test_sliced_and_large_string_arrays():
    texts = list(stdlib_texts()[:6])
    whole, _ = signatures(pa.array(texts), 5, 32, 1, min_tokens=1)
    part, _ = signatures(pa.array(texts).slice(2, 3), 5, 32, 1, min_tokens=1)
    np.testing.assert_array_equal(part, whole[2:5])
    large, _ = signatures(pa.array(texts, pa.large_string()), 5, 32, 1, min_tokens=1)
    np.testing.assert_array_equal(large, whole)


def test_vectorised_token_counts_equal_the_pure_python_tokens():
    texts = list(stdlib_texts()) + ODD + ["", " ", "x", "a b", "a\nb", "😀", "é", "__", "1.5e10", "a-b", "\t(\t)\t"]
    texts += [t[k:k + 37] for t in stdlib_texts()[:5] for k in range(0, 2000, 97)]  # cuts mid-token and mid-line
    _, counts = signatures(pa.array(texts), 1, 8, 1, min_tokens=1)
    assert counts.tolist() == [len(tokens(t.encode("utf-8"))) for t in texts]


def test_small_chunks_equal_one_chunk_documents_never_straddle():
    # the token 'abc' ending one document and 'def' starting the next must not merge across the boundary
    texts = list(stdlib_texts()[:8]) + ["abc", "def ghi jkl mno pqr", None, "x" * 300, "a b c d e f"] + ODD
    one, one_counts = signatures(pa.array(texts), 3, 64, 7, min_tokens=1)
    small, small_counts = signatures(pa.array(texts), 3, 64, 7, min_tokens=1, chunk_bytes=64)
    np.testing.assert_array_equal(small, one)
    np.testing.assert_array_equal(small_counts, one_counts)
    assert one_counts[8:10].tolist() == [1, 5]


def test_documents_with_more_shingles_than_a_minhash_chunk():
    text = " ".join(f"w{i}" for i in range(20_000))  # 19,998 distinct 3-shingles > MINHASH_STEP (16,384)
    assert len(set(shingles(text.encode(), 3))) > MINHASH_STEP
    sig, _ = signatures(pa.array(["a b c", text, "x y z"]), 3, 16, 1, min_tokens=1)
    np.testing.assert_array_equal(sig[1], reference(text, 3, 16, 1))
    np.testing.assert_array_equal(sig[0], reference("a b c", 3, 16, 1))


@pytest.mark.parametrize("num_perm,seed", [(16, 1), (128, 7), (256, 42)])
def test_permutations_equal_datasketch(num_perm, seed):
    a, b = permutations(num_perm, seed)
    ds_a, ds_b = MinHash(num_perm=num_perm, seed=seed).permutations
    assert a.dtype == b.dtype == np.uint32
    np.testing.assert_array_equal(a, ds_a)
    np.testing.assert_array_equal(b, ds_b)
    assert (a % 2 == 1).all()


def _jaccard(x: str, y: str, n: int = 5) -> tuple[float, float]:
    """(exact Jaccard of the shingle sets, MinHash estimate from 256-permutation signatures)."""
    sx, sy = set(shingles(x.encode(), n)), set(shingles(y.encode(), n))
    sig, _ = signatures(pa.array([x, y]), n, 256, 1, min_tokens=1)
    est = estimated_jaccard(pa.array([sig[0].tobytes()], pa.binary()), pa.array([sig[1].tobytes()], pa.binary()))
    return len(sx & sy) / len(sx | sy), est.to_pylist()[0]


def _drop_lines(text: str, every: int) -> str:
    return "\n".join(line for i, line in enumerate(text.split("\n")) if i % every)


@pytest.mark.parametrize("variant", ["every 10th line", "every 4th line", "second half", "renamed"])
def test_estimated_jaccard_is_close_to_the_exact_one(variant):
    base = max(stdlib_texts(), key=len)
    other = {"every 10th line": _drop_lines(base, 10), "every 4th line": _drop_lines(base, 4),
             "second half": base[:len(base) // 2], "renamed": base.replace("self", "this")}[variant]
    exact, est = _jaccard(base, other)
    assert 0.0 < exact < 1.0
    assert abs(est - exact) <= 0.08


def test_identical_texts_estimate_exactly_one_and_unrelated_near_zero():
    texts = stdlib_texts()
    assert _jaccard(texts[0], texts[0]) == (1.0, 1.0)
    exact, est = _jaccard(texts[0], texts[1])
    assert exact < 0.1 and est < 0.1
    assert estimated_jaccard(pa.array([], pa.binary()), pa.array([], pa.binary())).to_pylist() == []


def test_exact_jaccard_equals_the_jaccard_of_the_shingle_sets():
    base = max(stdlib_texts(), key=len)
    others = [_drop_lines(base, 10), base[:len(base) // 2], base.replace("self", "this"), base, stdlib_texts()[0]]
    got = exact_jaccard(pa.array([base] * len(others)), pa.array(others), 5)
    assert got.tolist() == [_jaccard(base, o)[0] for o in others]
    assert got[3] == 1.0
    # no shingles on either side is no evidence of duplication; one side empty shares nothing
    assert exact_jaccard(pa.array(["a b", None, "", "x y z"]), pa.array(["a b", None, "x y z", ""]), 3).tolist() == \
        [0.0, 0.0, 0.0, 0.0]
