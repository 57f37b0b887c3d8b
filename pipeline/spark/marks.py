"""DataFrame helpers for whole-dataset stages: mark rows with a reason, select the rows still alive, and broadcast
a small side of a join."""
from __future__ import annotations

from pipeline.stage import DETAIL, REASON


def mark_rows(df, condition, reason: str, detail):
    """Set the reject pair where `condition` holds on rows no earlier stage rejected."""
    from pyspark.sql import functions as F

    hit = F.col(REASON).isNull() & F.coalesce(condition, F.lit(False))
    return (df.withColumn(DETAIL, F.when(hit, detail).otherwise(F.col(DETAIL)))
              .withColumn(REASON, F.when(hit, F.lit(reason)).otherwise(F.col(REASON))))


def live_rows(df):
    """The rows no earlier stage rejected: only they take part in whole-dataset decisions (a rejected copy must
    not be a dedup survivor, or the kept copies would be lost with it)."""
    from pyspark.sql import functions as F

    return df.where(F.col(REASON).isNull()) if REASON in df.columns else df


def broadcast_if_small(df, max_rows: int):
    """`df` hinted for broadcast when it has at most `max_rows` rows, so that a join with it leaves the other side's
    rows in their tasks (no shuffle of the files' content); otherwise `df` as it is (a shuffle join). `df` is
    counted: checkpoint it first."""
    from pyspark.sql import functions as F

    return F.broadcast(df) if df.count() <= max_rows else df
