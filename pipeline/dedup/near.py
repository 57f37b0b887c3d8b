"""File-level near-dedup on Spark: MinHash signatures, LSH banding as a shuffle, verified edges, components."""
from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa

from pipeline.dedup.minhash import exact_jaccard, signatures

SIGNATURES = pa.schema([("id", pa.string()), ("rank_score", pa.float64()), ("n_tokens", pa.int64()),
                        ("sig", pa.binary())])


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) from datasketch's own optimal-parameter routine (equal false-positive/negative weights) for
    the threshold candidates are drawn at."""
    from datasketch import MinHashLSH

    from pipeline.typed_config import ConfigError

    try:
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    except ValueError as e:  # datasketch needs at least two bands
        raise ConfigError(f"dedup: datasketch finds no LSH bands and rows for threshold {threshold:g} with num_perm "
                          f"{num_perm} ({e}); lower dedup.threshold / dedup.candidate_threshold or raise "
                          f"dedup.num_perm") from None
    return lsh.b, lsh.r


def signature_batches(batches, shingle_tokens: int, num_perm: int, seed: int, min_tokens: int):
    """mapInArrow body: (id, content, quality_score) in; (id, rank score, token count, signature bytes) out.
    Files with fewer than min_tokens tokens get a null signature: they are never MinHashed."""
    for batch in batches:
        sig, n_tokens = signatures(batch.column("content"), shingle_tokens, num_perm, seed, min_tokens)
        blobs = [row.tobytes() if n >= max(min_tokens, shingle_tokens) else None for row, n in zip(sig, n_tokens)]
        score = batch.column("quality_score").cast(pa.float64()).fill_null(-1.0)
        yield pa.RecordBatch.from_arrays([batch.column("id"), score, pa.array(n_tokens, pa.int64()),
                                          pa.array(blobs, pa.binary())], schema=SIGNATURES)


def signature_frame(df, shingle_tokens: int, num_perm: int, seed: int, min_tokens: int):
    from schemas.spark import spark_schema

    body = functools.partial(signature_batches, shingle_tokens=shingle_tokens, num_perm=num_perm, seed=seed,
                             min_tokens=min_tokens)
    from pyspark.sql import functions as F

    score = F.col("quality_score") if "quality_score" in df.columns else F.lit(None).cast("float")  # no quality
    return df.select("id", "content", score.alias("quality_score")).mapInArrow(body, spark_schema(SIGNATURES))


def estimated_jaccard(a: pa.Array, b: pa.Array) -> pa.Array:
    """Share of equal MinHash values between two signature columns (the MinHash estimate of Jaccard)."""
    if len(a) == 0:
        return pa.array([], pa.float64())
    return pa.array((_matrix(a) == _matrix(b)).mean(axis=1), pa.float64())


def _matrix(column: pa.Array) -> np.ndarray:
    """Equal-length signatures of a binary column as a uint32 matrix, straight from the Arrow buffers."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[column.offset:column.offset + len(column) + 1]
    data = np.frombuffer(column.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    return data.view(np.uint32).reshape(len(column), -1)


def candidate_pairs(sigs, bands: int, rows: int, max_bucket: int):
    """LSH banding as a shuffle: files sharing any band's `rows` values become candidate pairs (a < b).
    A bucket of more than max_bucket files is linked as a star around its smallest id instead of all pairs."""
    from pyspark.sql import functions as F

    width = rows * 4
    keyed = sigs.where(F.col("sig").isNotNull()).select(
        "id", F.posexplode(F.array(*[F.substring("sig", i * width + 1, width) for i in range(bands)]))
        .alias("band", "key"))
    buckets = keyed.groupBy("band", "key").agg(F.sort_array(F.collect_list("id")).alias("ids")) \
                   .where(F.size("ids") > 1)
    small = buckets.where(F.size("ids") <= max_bucket).select(F.explode("ids").alias("a"), "ids") \
                   .select("a", F.explode("ids").alias("b")).where(F.col("a") < F.col("b"))
    large = buckets.where(F.size("ids") > max_bucket).select(
        F.col("ids")[0].alias("a"), F.explode(F.slice("ids", 2, 1 << 30)).alias("b"))
    return small.unionByName(large).distinct()


def verified_edges(pairs, sigs, contents, threshold: float, mode: str, shingle_tokens: int):
    """Candidate pairs with their Jaccard (estimated from signatures, or exact from the two files' shingle sets)
    and whether it reaches the threshold; mode "none" keeps every candidate."""
    from pyspark.sql import functions as F

    if mode == "none":
        return pairs.withColumn("jaccard", F.lit(None).cast("double")).withColumn("kept", F.lit(True))
    side = sigs.select("id", "sig") if mode == "estimate" else contents.select("id", F.col("content").alias("sig"))
    joined = (pairs.join(side.withColumnRenamed("id", "a").withColumnRenamed("sig", "x_a"), "a")
                   .join(side.withColumnRenamed("id", "b").withColumnRenamed("sig", "x_b"), "b"))
    if mode == "estimate":
        jaccard = F.arrow_udf(_estimate_udf, returnType="double")
    else:
        jaccard = F.arrow_udf(_exact_udf(shingle_tokens), returnType="double")
    return joined.select("a", "b", jaccard("x_a", "x_b").alias("jaccard")) \
                 .withColumn("kept", F.col("jaccard") >= F.lit(threshold))


def _estimate_udf(a: pa.Array, b: pa.Array) -> pa.Array:
    return estimated_jaccard(a, b)


def _exact_udf(shingle_tokens: int):
    def exact(a: pa.Array, b: pa.Array) -> pa.Array:  # arrow_udf reads these type hints: a plain function
        return pa.array(exact_jaccard(a, b, shingle_tokens), pa.float64())
    return exact


def survivors(components, sigs):
    """(id, survivor, component size) for files in a component: the survivor has the highest quality score,
    then the smallest id."""
    from pyspark.sql import functions as F

    ranked = components.join(sigs.select(F.col("id").alias("node"), "rank_score"), "node")
    best = ranked.groupBy("root").agg(
        F.min(F.struct(F.negative("rank_score").alias("neg"), F.col("node").alias("node"))).alias("best"),
        F.count(F.lit(1)).alias("size"))
    return ranked.join(best, "root").select(F.col("node").alias("id"), F.col("best.node").alias("survivor"),
                                            "size")
