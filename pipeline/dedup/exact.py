"""Global exact dedup: one survivor per content hash (highest quality score, then smallest id) across sources."""
from __future__ import annotations


def exact_survivors(df):
    """Each row with the id of its hash group's survivor and the group's size."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = [F.coalesce(F.col("quality_score"), F.lit(-1.0)).desc(), F.col("id").asc()]
    w = Window.partitionBy("content_sha256").orderBy(*order)
    group = Window.partitionBy("content_sha256")
    return df.withColumn("exact_survivor", F.first("id").over(w)).withColumn("exact_copies", F.count("*").over(group))
