"""Resampling: deterministic draws by id and seed, repeats from weights, the floor, and the stage on Spark."""
from __future__ import annotations

import dataclasses

import pyarrow as pa
import pytest

from pipeline import reasons
from pipeline.config import ResampleConfig
from pipeline.resample.weights import distribution, draw, draws, repeats


def test_draws_are_fixed_by_id_and_seed_and_uniform():
    assert draw("abc", 0) == draw("abc", 0) != draw("abc", 1)
    us = draws(pa.array([f"id{i}" for i in range(20_000)]), 3).to_numpy()
    assert 0.0 <= us.min() and us.max() < 1.0
    assert abs(us.mean() - 0.5) < 0.01 and abs((us < 0.3).mean() - 0.3) < 0.01


@pytest.mark.parametrize("weight, u, expected", [
    (1.0, 0.99, 1), (0.3, 0.29, 1), (0.3, 0.3, 0), (0.0, 0.0, 0), (1.5, 0.49, 2), (1.5, 0.5, 1), (3.0, 0.9, 3),
])
def test_repeats_from_weight_and_draw(weight, u, expected):
    assert repeats(weight, u) == expected


def test_distribution_table():
    got = distribution([{"language": "Go", "files": 2, "bytes": 7_000_000},
                        {"language": "Python", "files": 5, "bytes": 35_000_000}], 3.5)
    assert got == {"Python": {"files": 5, "mb": 35.0, "tokens_m": 10.0}, "Go": {"files": 2, "mb": 7.0, "tokens_m": 2.0}}
    assert list(got) == ["Python", "Go"]  # largest first


@pytest.mark.spark
def test_stage_drops_floor_languages_downsamples_and_repeats(spark):
    from pipeline.resample.stage import Resampler

    rows = [(f"py{i}", "Python", 1000, None, None) for i in range(400)]
    rows += [(f"js{i}", "JSON", 1000, None, None) for i in range(400)]
    rows += [(f"go{i}", "Go", 1000, None, None) for i in range(400)]
    rows += [("tiny", "Tcl", 10, None, None), ("gone", "Python", 1000, "syntax_error", "earlier")]
    df = spark.createDataFrame(rows, "id string, language string, size_bytes long, reject_reason string, "
                                     "reject_detail string")
    cfg = dataclasses.replace(ResampleConfig(), weights={"JSON": 0.25, "Go": 1.5}, min_language_mb=0.001, seed=5)
    stage = Resampler(cfg)
    out = {r["id"]: r for r in stage.transform(df).collect()}
    assert out["tiny"]["reject_reason"] == reasons.LANGUAGE_BELOW_FLOOR and out["tiny"]["repeats"] is None
    assert out["gone"]["reject_reason"] == "syntax_error" and out["gone"]["repeats"] is None  # untouched
    assert all(out[f"py{i}"]["repeats"] == 1 for i in range(400))
    js = [out[f"js{i}"] for i in range(400)]
    kept_js = [r for r in js if r["reject_reason"] is None]
    assert all(r["repeats"] == repeats(0.25, draw(r["id"], 5)) == 1 for r in kept_js)
    assert all(r["reject_reason"] == reasons.DOWNSAMPLED and "JSON weight 0.25" in r["reject_detail"]
               for r in js if r not in kept_js)
    assert 70 <= len(kept_js) <= 130  # about a quarter
    go = [out[f"go{i}"]["repeats"] for i in range(400)]
    assert set(go) == {1, 2} and 150 <= go.count(2) <= 250  # about half used twice
    assert stage.stats["languages_below_floor"] == ["Tcl"]
    before, after = stage.stats["distribution_before"], stage.stats["distribution_after"]
    assert before["JSON"]["files"] == 400 and after["JSON"]["files"] == len(kept_js)
    assert after["Go"]["files"] == sum(go) and after["Go"]["mb"] == round(sum(go) * 1000 / 1e6, 3)
    assert "Tcl" not in after
    again = {r["id"]: r["repeats"] for r in Resampler(cfg).transform(df).collect()}
    assert again == {k: v["repeats"] for k, v in out.items()}  # deterministic
