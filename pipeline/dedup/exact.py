"""Global exact dedup: one survivor per content hash (highest quality score, then smallest id) across sources."""
from __future__ import annotations

from pipeline.stage import REASON


def exact_survivors(df):
    """Each row with the id of its hash group's survivor and the group's size. Rows an earlier stage rejected form
    groups of their own: they never outrank a kept copy (which would then be lost with them) nor count as one."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    score = F.col("quality_score") if "quality_score" in df.columns else F.lit(None)  # run without quality
    order = [F.coalesce(score, F.lit(-1.0)).desc(), F.col("id").asc()]
    live = F.col(REASON).isNull() if REASON in df.columns else F.lit(True)
    w = Window.partitionBy("content_sha256", live).orderBy(*order)
    group = Window.partitionBy("content_sha256", live)
    return df.withColumn("exact_survivor", F.first("id").over(w)).withColumn("exact_copies", F.count("*").over(group))
