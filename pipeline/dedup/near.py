"""File-level near-dedup on Spark: MinHash signatures, LSH banding as a shuffle, verified edges, components."""
from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa

from pipeline.dedup.minhash import signatures

SIGNATURES = pa.schema([("id", pa.string()), ("rank_score", pa.float64()), ("n_tokens", pa.int64()),
                        ("sig", pa.binary())])


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) from datasketch's own optimal-parameter routine (equal false-positive/negative weights)."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
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
    return df.select("id", "content", "quality_score").mapInArrow(body, spark_schema(SIGNATURES))


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


def verified_edges(pairs, sigs, threshold: float):
    """Candidate pairs with their estimated Jaccard, and whether it reaches the threshold."""
    from pyspark.sql import functions as F

    s = sigs.select("id", "sig")
    joined = (pairs.join(s.withColumnRenamed("id", "a").withColumnRenamed("sig", "sig_a"), "a")
                   .join(s.withColumnRenamed("id", "b").withColumnRenamed("sig", "sig_b"), "b"))
    jaccard = F.arrow_udf(_jaccard_udf, returnType="double")
    return joined.select("a", "b", jaccard("sig_a", "sig_b").alias("jaccard")) \
                 .withColumn("kept", F.col("jaccard") >= F.lit(threshold))


def _jaccard_udf(a: pa.Array, b: pa.Array) -> pa.Array:
    return estimated_jaccard(a, b)


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
