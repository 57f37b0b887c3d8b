"""A row pass's one write (partitioned by the stage each row left at) and each of its stages' counts read from it."""
from __future__ import annotations

from pipeline.row_pass import KEPT_BY_ALL, LEFT_AT
from pipeline.spark.commit import counts_by_reason, kept_tallies, rejected_content_dropped
from pipeline.stage import REASON


def write_by_stage(df, uri: str, keep_rejected_content: bool) -> None:
    """One pass over `df` into <uri>/left_at_stage=<stage> (each stage's rejects) and .../left_at_stage=kept."""
    rejected_content_dropped(df, keep_rejected_content).write.mode("overwrite").partitionBy(LEFT_AT).parquet(uri)


def part_uri(uri: str, left_at: str) -> str:
    return f"{uri}/{LEFT_AT}={left_at}"


def measure_pass(spark, uri: str, stages, bytes_in: int) -> tuple[int, list[dict]]:
    """(rows written, each stage's counts in `commit.measure`'s shape). A stage's kept rows are those that left at
    a later stage or were kept by all. Before the first stage that rewrites content (`changes_content`), kept MB
    are the pass's input bytes less the bytes rejected so far, so they are the sizes that stage saw."""
    from pyspark.sql import functions as F

    df = spark.read.parquet(uri)
    groups: dict[str, list[tuple]] = {}
    for r in df.groupBy(LEFT_AT, REASON).agg(F.count(F.lit(1)).alias("n"), F.sum("size_bytes").alias("b")).collect():
        groups.setdefault(r[LEFT_AT], []).append((r[REASON], int(r["n"]), int(r["b"] or 0)))
    order = [s.name for s in stages] + [KEPT_BY_ALL]
    if unknown := set(groups) - set(order):
        raise ValueError(f"row pass output at {uri} has rows left at {sorted(unknown)}, not one of {order}")
    first_rewriter = next((i for i, s in enumerate(stages) if getattr(s, "changes_content", False)), len(stages))
    out, bytes_seen = [], bytes_in
    for i, stage in enumerate(stages):
        later = order[i + 1:]
        kept = sum(n for name in later for _, n, _ in groups.get(name, []))
        if i < first_rewriter:
            kept_bytes = bytes_seen - sum(b for _, _, b in groups.get(stage.name, []))
        else:
            kept_bytes = sum(b for name in later for _, _, b in groups.get(name, []))
        counts = counts_by_reason(groups.get(stage.name, []) + [(None, kept, kept_bytes)])
        bytes_seen = kept_bytes
        counts["kept_by"], counts["kept_sums"] = kept_tallies(df.where(F.col(LEFT_AT).isin(later)), stage.tally,
                                                              stage.sums)
        out.append(counts)
    return sum(n for rows in groups.values() for _, n, _ in rows), out
