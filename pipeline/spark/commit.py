"""Writing a stage's rows as kept/rejected Parquet partitions, and reading back its counts from what was written."""
from __future__ import annotations

from pipeline.stage import DETAIL, REASON
from schemas import STATUS_COLUMN, STATUS_KEPT, STATUS_REJECTED

MB = 1e6


def write_partitioned(df, uri: str, keep_rejected_content: bool) -> None:
    """One pass over `df`: rows with no reason go to status=kept, the others to status=rejected."""
    from pyspark.sql import functions as F

    rejected = F.col(REASON).isNotNull()
    df = df.withColumn(STATUS_COLUMN, F.when(rejected, F.lit(STATUS_REJECTED)).otherwise(F.lit(STATUS_KEPT)))
    rejected_content_dropped(df, keep_rejected_content).write.mode("overwrite").partitionBy(STATUS_COLUMN).parquet(uri)


def rejected_content_dropped(df, keep_rejected_content: bool):
    """`df` with content null on rejected rows, unless run.keep_rejected_content."""
    from pyspark.sql import functions as F

    if keep_rejected_content or "content" not in df.columns:
        return df
    return df.withColumn("content", F.when(F.col(REASON).isNotNull(), F.lit(None).cast("string"))
                         .otherwise(F.col("content")))


def part_uri(stage_uri: str, status: str) -> str:
    return f"{stage_uri}/{STATUS_COLUMN}={status}"


def read_part(spark, fs, stage_uri: str, status: str):
    """The kept or rejected table of a finished stage, or None when it has no rows."""
    uri = part_uri(stage_uri, status)
    return spark.read.parquet(uri) if fs.exists(uri) else None


def measure(spark, fs, stage_uri: str, tally: tuple[str, ...] = (), sums: tuple[str, ...] = ()) -> dict:
    """Rows and MB kept and rejected, rejected rows by reason, kept rows by each `tally` column's value, and the
    total of each `sums` column over kept rows (with how many rows are above 0), all from the written Parquet."""
    from pyspark.sql import functions as F

    out = {"kept": 0, "rejected": 0, "mb_kept": 0.0, "mb_rejected": 0.0, "rejected_by_reason": {},
           "rejected_mb_by_reason": {}, "kept_by": {}, "kept_sums": {}}
    parts = [p for p in (read_part(spark, fs, stage_uri, s) for s in (STATUS_KEPT, STATUS_REJECTED)) if p is not None]
    if not parts:
        return out
    both = parts[0].select(REASON, "size_bytes")
    for p in parts[1:]:
        both = both.unionByName(p.select(REASON, "size_bytes"))
    rows = both.groupBy(REASON).agg(F.count(F.lit(1)).alias("n"), F.sum("size_bytes").alias("b")).collect()
    out.update(counts_by_reason([(r[REASON], int(r["n"]), int(r["b"] or 0)) for r in rows]))  # kept: reason None
    kept = read_part(spark, fs, stage_uri, STATUS_KEPT)
    if kept is not None:
        out["kept_by"], out["kept_sums"] = kept_tallies(kept, tally, sums)
    return out


def counts_by_reason(groups: list[tuple[str | None, int, int]]) -> dict:
    """Rows and MB kept and rejected from (reason, rows, bytes) groups; the kept rows are the group of reason None."""
    out = {"kept": 0, "rejected": 0, "mb_kept": 0.0, "mb_rejected": 0.0, "rejected_by_reason": {},
           "rejected_mb_by_reason": {}}
    for reason, n, size in sorted(groups, key=lambda g: (g[0] is not None, g[0] or "")):
        mb = size / MB
        if reason is None:
            out["kept"], out["mb_kept"] = n, round(mb, 3)
        else:
            out["rejected_by_reason"][reason] = n
            out["rejected_mb_by_reason"][reason] = round(mb, 3)
            out["rejected"] += n
            out["mb_rejected"] += mb
    out["mb_rejected"] = round(out["mb_rejected"], 3)
    out["rejected_by_reason"] = dict(sorted(out["rejected_by_reason"].items(), key=lambda kv: (-kv[1], kv[0])))
    return out


def kept_tallies(kept, tally: tuple[str, ...], sums: tuple[str, ...]) -> tuple[dict, dict]:
    """(kept rows by each `tally` column's value, the total of each `sums` column and how many rows are above 0)."""
    from pyspark.sql import functions as F

    kept_by, kept_sums = {}, {}
    for column in tally:
        counts = kept.groupBy(column).count().collect()
        kept_by[column] = {str(r[column]).lower(): int(r["count"]) for r in sorted(counts, key=str)}
    if sums:
        row = kept.agg(*[F.sum(c).alias(f"s{i}") for i, c in enumerate(sums)],
                       *[F.count(F.when(F.col(c) > 0, 1)).alias(f"n{i}") for i, c in enumerate(sums)]).first()
        kept_sums = {c: {"total": int(row[f"s{i}"] or 0), "rows": int(row[f"n{i}"])} for i, c in enumerate(sums)}
    return kept_by, kept_sums


def rejects_projection(df, stage: str):
    """A stage's rejected rows in the run-wide REJECTS shape."""
    from pyspark.sql import functions as F

    return df.select("id", "source", "path", F.lit(stage).alias("stage"), F.col(REASON).alias("reason"),
                     F.col(DETAIL).alias("detail"))
