"""LSH parameters, banding as a shuffle, verification and survivor choice, on hand-built signature rows."""
from __future__ import annotations

import numpy as np
import pytest
from datasketch import MinHashLSH

from pipeline.dedup.near import candidate_pairs, lsh_params, survivors, verified_edges

SIGS = "id string, rank_score double, n_tokens long, sig binary"


@pytest.mark.parametrize("threshold,num_perm", [(0.5, 128), (0.7, 256), (0.85, 128), (0.85, 256), (0.9, 256)])
def test_lsh_params_equal_datasketch(threshold, num_perm):
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    bands, rows = lsh_params(threshold, num_perm)
    assert (bands, rows) == (lsh.b, lsh.r)
    assert bands * rows <= num_perm


def test_lsh_params_at_the_default_config():
    assert lsh_params(0.7, 256) == (25, 10)  # dedup.candidate_threshold: candidates, then verification
    assert lsh_params(0.85, 256) == (13, 19)  # dedup.threshold: used when verify=none
    assert lsh_params(0.5, 128) == (25, 5)


def _sig(*values: int) -> bytearray:
    return bytearray(np.array(values, dtype=np.uint32).tobytes())


def _unique(k: int) -> list[int]:
    """Two values no other row uses (one band of 2 rows)."""
    return [1000 + 2 * k, 1001 + 2 * k]


# 4 bands of 2 rows over 8-value signatures; ids sort as strings
ROWS = [
    ("a", 0.5, 40, _sig(1, 2, 3, 4, *_unique(0), *_unique(1))),
    ("b", 0.9, 40, _sig(1, 2, 3, 4, *_unique(2), *_unique(3))),      # bands 0 and 1 as a: one pair, not two
    ("c", 0.9, 40, _sig(*_unique(4), *_unique(5), 5, 6, *_unique(6))),  # band 2 as e only
    ("d", 0.1, 40, _sig(*_unique(7), *_unique(8), *_unique(9), *_unique(10))),  # shares nothing
    ("e", 0.3, 40, _sig(*_unique(11), *_unique(12), 5, 6, *_unique(13))),
    ("f", 0.7, 40, _sig(*_unique(14), *_unique(15), *_unique(16), 7, 7)),  # f, g, h, i: one bucket of 4 in band 3
    ("g", 0.7, 40, _sig(*_unique(17), *_unique(18), *_unique(19), 7, 7)),
    ("h", 0.2, 40, _sig(*_unique(20), *_unique(21), *_unique(22), 7, 7)),
    ("i", 0.2, 40, _sig(*_unique(23), *_unique(24), *_unique(25), 7, 7)),
    ("z", -1.0, 3, None),  # too short: never banded
    ("y", -1.0, 4, None),
]


@pytest.mark.spark
def test_candidate_pairs_from_shared_bands_and_stars_for_large_buckets(spark):
    sigs = spark.createDataFrame(ROWS, SIGS)
    pairs = candidate_pairs(sigs, bands=4, rows=2, max_bucket=3)
    assert pairs.columns == ["a", "b"]
    got = sorted((r["a"], r["b"]) for r in pairs.collect())
    # the bucket {f, g, h, i} exceeds max_bucket=3: a star around f, no g-h, g-i, h-i pairs
    assert got == [("a", "b"), ("c", "e"), ("f", "g"), ("f", "h"), ("f", "i")]
    # a bucket at max_bucket is all pairs
    all_pairs = sorted((r["a"], r["b"]) for r in candidate_pairs(sigs, 4, 2, max_bucket=4).collect())
    assert all_pairs == [("a", "b"), ("c", "e"), ("f", "g"), ("f", "h"), ("f", "i"), ("g", "h"), ("g", "i"),
                         ("h", "i")]


@pytest.mark.spark
def test_verified_edges_by_estimate_exact_jaccard_or_none(spark):
    sigs = spark.createDataFrame(ROWS, SIGS)
    pairs = spark.createDataFrame([("a", "b"), ("c", "e"), ("f", "g"), ("f", "h"), ("f", "i")], "a string, b string")

    def edges(mode: str, threshold: float, contents=None, margin: float = 1.0, broadcast_ids: int = 10) -> list:
        out = verified_edges(pairs, sigs, contents, threshold, mode, shingle_tokens=1, margin=margin,
                             broadcast_ids=broadcast_ids)
        got = sorted((r["a"], r["b"], r["jaccard"], r["kept"]) for r in out.collect())
        # the signatures sent to every task of the pairs instead of shuffled: the same rows
        sent = verified_edges(pairs, sigs, contents, threshold, mode, shingle_tokens=1, margin=margin,
                              broadcast_ids=broadcast_ids, broadcast_sigs=True)
        if mode == "estimate":  # the pairs joined with the signatures and nothing else
            plan = sent._jdf.queryExecution().executedPlan().toString()
            assert plan.count("BroadcastHashJoin") == 2 and "SortMergeJoin" not in plan
        assert sorted((r["a"], r["b"], r["jaccard"], r["kept"]) for r in sent.collect()) == got
        return got

    # the share of equal signature values
    assert edges("estimate", 0.5) == [
        ("a", "b", 0.5, True),    # 4 of 8 values equal: at the threshold is kept
        ("c", "e", 0.25, False),  # 2 of 8
        ("f", "g", 0.25, False), ("f", "h", 0.25, False), ("f", "i", 0.25, False)]
    # the exact Jaccard of the two files' 1-token shingle sets
    contents = spark.createDataFrame(
        [("a", "p q r s"), ("b", "p q r s t"), ("c", "p q"), ("e", "x y"), ("f", "m n o"), ("g", "o n m"),
         ("h", "m n"), ("i", "")], "id string, content string")
    exact = [("a", "b", 0.8, True), ("c", "e", 0.0, False), ("f", "g", 1.0, True), ("f", "h", 2 / 3, False),
             ("f", "i", 0.0, False)]
    assert edges("exact", 0.8, contents) == exact
    # the 8 files to check picked out of the contents by a shuffle join instead of a broadcast of their ids
    assert edges("exact", 0.8, contents, broadcast_ids=7) == exact
    # pairs whose estimate is more than `margin` below the threshold are dropped on the estimate alone
    assert edges("exact", 0.8, contents, margin=0.4) == [
        ("a", "b", 0.8, True), ("c", "e", 0.25, False), ("f", "g", 0.25, False), ("f", "h", 0.25, False),
        ("f", "i", 0.25, False)]
    # every candidate is an edge
    assert edges("none", 0.99) == [(a, b, None, True) for a, b in
                                   [("a", "b"), ("c", "e"), ("f", "g"), ("f", "h"), ("f", "i")]]


@pytest.mark.spark
def test_survivors_highest_rank_then_smallest_id(spark):
    sigs = spark.createDataFrame(ROWS, SIGS)
    components = spark.createDataFrame([("a", "a"), ("b", "a"), ("c", "a"), ("f", "f"), ("g", "f"), ("z", "y"),
                                        ("y", "y")], "node string, root string")
    got = sorted((r["id"], r["survivor"], r["size"]) for r in survivors(components, sigs).collect())
    assert got == [("a", "b", 3), ("b", "b", 3), ("c", "b", 3),  # b and c tie on 0.9: the smaller id
                   ("f", "f", 2), ("g", "f", 2),                  # f and g tie on 0.7
                   ("y", "y", 2), ("z", "y", 2)]                  # unscored rows (-1.0) tie: the smaller id
