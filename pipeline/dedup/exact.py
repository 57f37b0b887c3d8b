"""Global exact dedup: one survivor per content hash (highest quality score, then smallest id) across sources."""
from __future__ import annotations

from pipeline.spark.marks import broadcast_if_small
from pipeline.stage import REASON

BROADCAST_ROWS = 2_000_000  # decisions of up to this many files (~100 bytes each) go to every task


def exact_survivors(df, broadcast_rows: int = BROADCAST_ROWS):
    """Each row with the id of its hash group's survivor and the group's size. Rows an earlier stage rejected form
    groups of their own: they never outrank a kept copy (which would then be lost with them) nor count as one.

    The groups are formed over (id, hash, score) only and joined back by id: the files' content is not shuffled.
    Up to `broadcast_rows` files the decisions are broadcast and every row stays in its task, in its order."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    score = F.col("quality_score") if "quality_score" in df.columns else F.lit(None)  # run without quality
    live = F.col(REASON).isNull() if REASON in df.columns else F.lit(True)
    narrow = df.select("id", "content_sha256", F.coalesce(score, F.lit(-1.0)).alias("_rank"), live.alias("_live"))
    w = Window.partitionBy("content_sha256", "_live").orderBy(F.col("_rank").desc(), F.col("id").asc())
    group = Window.partitionBy("content_sha256", "_live")
    decided = narrow.select("id", F.first("id").over(w).alias("exact_survivor"),
                            F.count("*").over(group).alias("exact_copies")).localCheckpoint()
    return df.join(broadcast_if_small(decided, broadcast_rows), "id", "left")
