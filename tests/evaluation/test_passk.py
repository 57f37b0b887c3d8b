"""The unbiased pass@k estimator against values computed by hand, per task and averaged."""
import math

import pytest

from evaluation.passk import overall, pass_at_k, per_task


@pytest.mark.parametrize("n,c,k,expected", [
    (10, 3, 1, 0.3),                 # 1 - 7/10
    (5, 2, 2, 0.7),                  # 1 - C(3,2)/C(5,2) = 1 - 3/10
    (10, 0, 1, 0.0),
    (10, 0, 10, 0.0),
    (10, 8, 3, 1.0),                 # n - c = 2 < k: every draw of 3 holds a correct one
    (10, 10, 1, 1.0),
    (200, 13, 10, 1 - math.comb(187, 10) / math.comb(200, 10)),
])
def test_matches_hand_computed_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_large_n_stays_finite_and_exact():
    assert pass_at_k(10_000, 1, 1) == pytest.approx(1e-4, rel=1e-9)


def test_rejects_impossible_counts_with_the_reason():
    with pytest.raises(ValueError, match="at least 10 samples"):
        pass_at_k(5, 1, 10)
    with pytest.raises(ValueError, match="0 <= c <= n"):
        pass_at_k(5, 6, 1)


def test_per_task_and_overall_mean():
    table = per_task({"a": (10, 3), "b": (10, 0), "c": (2, 2)}, [1, 10])
    assert table["a"] == pytest.approx({"pass@1": 0.3, "pass@10": 1.0})
    assert table["c"] == {"pass@1": 1.0}  # pass@10 needs 10 samples
    assert overall(table, [1, 10]) == pytest.approx({"pass@1": (0.3 + 0.0 + 1.0) / 3})
