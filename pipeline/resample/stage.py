"""The resample stage: drops languages under the volume floor, down-samples or repeats by language weight."""
from __future__ import annotations

import pyarrow as pa

from pipeline import reasons
from pipeline.config import ResampleConfig
from pipeline.resample.weights import distribution, draws
from pipeline.spark.marks import live_rows, mark_rows
from pipeline.stage import FrameStage


class Resampler(FrameStage):
    """Adds `repeats` (times a kept file is used by tokenization, >= 1); a file drawn out, or of a language under
    the floor, is rejected. The language distribution before and after goes into the stage's stats."""

    name = "resample"

    def __init__(self, cfg: ResampleConfig):
        super().__init__()
        self.cfg = cfg

    def transform(self, df):
        from pyspark.sql import functions as F

        c = self.cfg
        live = live_rows(df)
        totals = live.groupBy("language").agg(F.count(F.lit(1)).alias("files"), F.sum("size_bytes").alias("bytes"))
        before = [r.asDict() for r in totals.collect()]  # one row per language: small
        floor = sorted(r["language"] for r in before if (r["bytes"] or 0) / 1e6 < c.min_language_mb)

        draw = F.arrow_udf(_draws_udf(c.seed), returnType="double")
        weight = F.lit(1.0)
        for lang, w in sorted(c.weights.items()):
            weight = F.when(F.col("language") == lang, F.lit(float(w))).otherwise(weight)
        out = df.withColumn("_w", weight).withColumn("_u", draw(F.col("id")))
        whole = F.floor("_w")
        reps = (whole + F.when(F.col("_u") < F.col("_w") - whole, 1).otherwise(0)).cast("int")
        out = out.withColumn("repeats", F.when(F.col("language").isin(floor), F.lit(0)).otherwise(reps))
        out = mark_rows(out, F.col("language").isin(floor), reasons.LANGUAGE_BELOW_FLOOR,
                        F.concat(F.col("language"), F.lit(f" has under resample.min_language_mb={c.min_language_mb:g}"
                                                          " MB after dedup")))
        out = mark_rows(out, F.col("repeats") == 0, reasons.DOWNSAMPLED,
                        F.concat(F.col("language"), F.lit(" weight "), F.col("_w").cast("string"), F.lit(": draw "),
                                 F.format_number("_u", 3), F.lit(" kept none")))
        out = out.withColumn("repeats", F.when(F.col("reject_reason").isNull(), F.col("repeats")))
        out = out.drop("_w", "_u")
        # reads only the language, size and id columns: content is never touched for the figures
        after = (live_rows(out).groupBy("language")
                 .agg(F.sum("repeats").alias("files"), F.sum(F.col("size_bytes") * F.col("repeats")).alias("bytes"))
                 .collect())
        self.stats = {"languages_below_floor": floor,
                      "distribution_before": distribution(before, c.bytes_per_token),
                      "distribution_after": distribution([r.asDict() for r in after], c.bytes_per_token)}
        return out


def _draws_udf(seed: int):
    def u(ids: pa.Array) -> pa.Array:  # arrow_udf resolves these hints against this module
        return draws(ids, seed)
    return u
