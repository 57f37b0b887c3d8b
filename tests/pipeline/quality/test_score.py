"""The composite quality score: ramp boundaries, each subscore's thresholds, weights and their renormalisation."""
from __future__ import annotations

import itertools

import pytest

from pipeline.quality.score import ASPECTS, DEFAULT_WEIGHTS, composite, ramp, subscores

# A file that is good on every aspect: every subscore is exactly 1.
GOOD = {"error_ratio": 0.0, "cc_mean": 2.0, "cc_max": 5, "fn_mean_lines": 10.0, "max_nesting": 2,
        "comment_ratio": 0.2, "redundancy": 0.0, "naming_consistency": 1.0, "avg_line_len": 30.0,
        "ident_mean_len": 8.0}
# ... and one that is bad on every aspect: every subscore is exactly 0.
BAD = {"error_ratio": 0.5, "cc_mean": 20.0, "cc_max": 50, "fn_mean_lines": 200.0, "max_nesting": 9,
       "comment_ratio": 0.0, "redundancy": 0.6, "naming_consistency": 0.0, "avg_line_len": 200.0,
       "ident_mean_len": 70.0}


@pytest.mark.parametrize("x, expected", [
    (-1.0, 1.0), (4.0, 1.0), (4.000001, pytest.approx(1.0)), (9.5, 0.5), (12.25, 0.25), (15.0, 0.0), (99.0, 0.0),
])
def test_ramp_is_one_up_to_good_zero_from_bad_linear_between(x, expected):
    assert ramp(x, 4, 15) == expected


def test_weights_cover_every_aspect_and_sum_to_one():
    assert set(DEFAULT_WEIGHTS) == set(ASPECTS)
    assert sum(DEFAULT_WEIGHTS.values()) == pytest.approx(1.0)


def test_all_good_and_all_bad():
    assert subscores(GOOD) == dict.fromkeys(ASPECTS, 1.0)
    assert subscores(BAD) == dict.fromkeys(ASPECTS, 0.0)
    assert composite(GOOD, DEFAULT_WEIGHTS)[0] == pytest.approx(1.0)
    assert composite(BAD, DEFAULT_WEIGHTS)[0] == 0.0


@pytest.mark.parametrize("key, value, aspect, expected", [
    ("error_ratio", 0.05, "syntax", 0.5),           # 1 - 10 * error_ratio
    ("error_ratio", 0.1, "syntax", 0.0),
    ("cc_mean", 9.5, "complexity", 0.75),           # (ramp(9.5, 4, 15) + ramp(5, 10, 40)) / 2 = (0.5 + 1) / 2
    ("cc_max", 25, "complexity", 0.75),             # (1 + ramp(25, 10, 40)) / 2
    ("fn_mean_lines", 90.0, "function_length", 0.5),
    ("max_nesting", 3, "nesting", 1.0),
    ("max_nesting", 4, "nesting", 0.8),
    ("comment_ratio", 0.0, "comments", 0.0),        # uncommented code scores 0
    ("comment_ratio", 0.05, "comments", 0.5),
    ("comment_ratio", 0.10, "comments", 1.0),
    ("comment_ratio", 0.8, "comments", 1.0),
    ("comment_ratio", 0.9, "comments", 0.5),        # nearly all comment falls again
    ("comment_ratio", 1.0, "comments", 0.0),
    ("redundancy", 0.10, "redundancy", 1.0),
    ("redundancy", 0.30, "redundancy", 0.5),
    ("naming_consistency", 0.25, "naming", 0.25),
    ("avg_line_len", 105.0, "readability", 0.75),   # (ramp(105, 60, 150) + identifier score 1) / 2
    ("ident_mean_len", 1.75, "readability", 0.75),  # identifier score (1.75 - 1) / 1.5 = 0.5
    ("ident_mean_len", 2.5, "readability", 1.0),
    ("ident_mean_len", 1.0, "readability", 0.5),
    ("ident_mean_len", 42.5, "readability", 0.75),  # ramp(42.5, 25, 60) = 0.5
    ("ident_mean_len", 60.0, "readability", 0.5),
])
def test_subscore_thresholds(key, value, aspect, expected):
    subs = subscores({**GOOD, key: value})
    assert subs[aspect] == pytest.approx(expected)
    assert all(v == 1.0 for k, v in subs.items() if k != aspect)


def test_missing_inputs_leave_their_subscore_out_and_the_rest_renormalise():
    m = {**GOOD, "cc_mean": None, "cc_max": None, "fn_mean_lines": None, "naming_consistency": None,
         "ident_mean_len": None, "comment_ratio": 0.0}
    score, subs = composite(m, DEFAULT_WEIGHTS)
    assert (subs["complexity"], subs["function_length"], subs["naming"]) == (None, None, None)
    assert subs["readability"] == 1.0  # only the line length without identifiers
    # syntax .20, nesting .10, comments .10 (scoring 0), redundancy .15, readability .10
    assert score == pytest.approx((0.20 + 0.10 + 0.15 + 0.10) / 0.65)


def test_absent_subscores_do_not_pull_a_perfect_file_down():
    m = {**GOOD, "cc_mean": None, "cc_max": None, "fn_mean_lines": None, "naming_consistency": None}
    assert composite(m, DEFAULT_WEIGHTS)[0] == pytest.approx(1.0)


def test_custom_weights():
    m = {**GOOD, "comment_ratio": 0.05, "max_nesting": 8}  # comments 0.5, nesting 0
    assert composite(m, {"comments": 1.0})[0] == 0.5
    assert composite(m, {"nesting": 1.0})[0] == 0.0
    assert composite(m, {"comments": 1.0, "nesting": 1.0})[0] == 0.25
    assert composite(m, {"comments": 3.0, "nesting": 1.0})[0] == 0.375
    assert composite(m, {"syntax": 1.0, "comments": 0.0})[0] == 1.0
    default = composite(m, DEFAULT_WEIGHTS)[0]
    assert default == pytest.approx(1.0 - 0.10 * 0.5 - 0.10 * 1.0)


def test_weights_only_on_absent_aspects_give_zero():
    m = {**GOOD, "naming_consistency": None}
    assert composite(m, {"naming": 1.0})[0] == 0.0


def test_score_stays_in_unit_interval():
    grid = {"error_ratio": (0.0, 0.03, 1.0), "cc_mean": (None, 1.0, 7.0, 100.0), "max_nesting": (0, 5, 40),
            "comment_ratio": (0.0, 0.07, 0.85, 1.0), "redundancy": (0.0, 0.2, 1.0), "avg_line_len": (0.0, 80.0, 999.0),
            "ident_mean_len": (None, 0.5, 3.0, 100.0)}
    for values in itertools.product(*grid.values()):
        m = {**GOOD, **dict(zip(grid, values))}
        if m["cc_mean"] is None:
            m["cc_max"] = None
        score, subs = composite(m, DEFAULT_WEIGHTS)
        assert 0.0 <= score <= 1.0
        assert all(v is None or 0.0 <= v <= 1.0 for v in subs.values())
