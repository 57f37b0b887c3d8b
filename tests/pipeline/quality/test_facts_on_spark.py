"""On a default run of the mixed corpus: segments and sft give the same rows from the parse's facts as from a fresh
parse of every file (the facts columns dropped), files privacy rewrote (and took fresh facts of) included."""
from __future__ import annotations

import pytest

from pipeline.config import PipelineConfig
from pipeline.privacy.stage import PII_COLUMNS
from pipeline.quality.facts import FACT_COLUMNS
from pipeline.spark.apply import apply_stage
from pipeline.stages import batch_stage
from tests.conftest import pipeline_cfg

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def default_run(spark, mixed_corpus, tmp_path_factory):
    """A run of its own, not the session's mixed_default_run: built this early in the session, that shared run's
    near table came out in another row order than later runs' (seen twice in CI; not understood yet), and the
    determinism tests compare against it."""
    from pipeline.runner import run

    out = tmp_path_factory.mktemp("facts-run") / "run"
    return out, run(pipeline_cfg([f"corpus={mixed_corpus[0]}"], out), spark)


def _rows(df) -> list[dict]:
    return sorted((r.asDict(recursive=True) for r in df.collect()), key=lambda r: (r["id"], str(r)))


@pytest.mark.parametrize("name,upstream,columns", [
    ("segments", "near", ("id", "reject_reason", "reject_detail")),
    ("sft", "resample", None),
])
def test_a_stage_gives_the_same_rows_from_facts_as_from_a_fresh_parse(spark, default_run, name, upstream, columns):
    out, summary = default_run
    kept = spark.read.parquet(f"{out}/{upstream}/status=kept")
    usable = kept.where("facts_sha256 = content_sha256").count()
    stale = kept.where("facts_sha256 != content_sha256").count()
    rewritten = kept.where(" + ".join(f"coalesce({c}, 0)" for c in PII_COLUMNS.names) + " > 0") \
                    .where("facts_sha256 = content_sha256").count()
    assert usable >= 10 and rewritten >= 1 and stale == 0  # privacy took fresh facts of what it rewrote
    cfg = PipelineConfig()
    with_facts = apply_stage(kept, batch_stage(name, cfg))
    parsed = apply_stage(kept.drop(*FACT_COLUMNS), batch_stage(name, cfg))
    if columns:
        with_facts, parsed = with_facts.select(*columns), parsed.select(*columns)
    else:
        with_facts = with_facts.select(*parsed.columns)
    got = _rows(with_facts)
    assert got == _rows(parsed) and len(got) >= 5
    stage = next(s for s in summary["stages"] if s["name"] == name)
    assert stage["rejected"] > 0 and len(got) >= stage["kept"]
