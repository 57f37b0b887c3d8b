"""File-level near-dedup on Spark: MinHash signatures, LSH banding as a shuffle, verified edges, components."""
from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa

from pipeline.dedup.minhash import shingle_sets, signatures
from pipeline.spark.marks import broadcast_if_small

SIGNATURES = pa.schema([("id", pa.string()), ("rank_score", pa.float64()), ("n_tokens", pa.int64()),
                        ("sig", pa.binary())])


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) from datasketch's own optimal-parameter routine (equal false-positive/negative weights) for
    the threshold candidates are drawn at."""
    from datasketch import MinHashLSH

    from common.typed_config import ConfigError

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
    # a band's `rows` values hashed to 64 bits: a smaller shuffle; a collision only adds a candidate, which
    # verification then drops
    keyed = sigs.where(F.col("sig").isNotNull()).select(
        "id", F.posexplode(F.array(*[F.xxhash64(F.substring("sig", i * width + 1, width)) for i in range(bands)]))
        .alias("band", "key"))
    # nearly every (band, key) holds one file: count them first (two longs per row) and gather the ids of the
    # shared ones only (on 20,000 corpus files 16k of ~470k keys; 1.6x faster than collecting every key's ids)
    shared = keyed.groupBy("band", "key").count().where(F.col("count") > 1).drop("count")
    buckets = keyed.join(shared, ["band", "key"], "left_semi").groupBy("band", "key") \
                   .agg(F.sort_array(F.collect_list("id")).alias("ids"))
    small = buckets.where(F.size("ids") <= max_bucket).select(F.explode("ids").alias("a"), "ids") \
                   .select("a", F.explode("ids").alias("b")).where(F.col("a") < F.col("b"))
    large = buckets.where(F.size("ids") > max_bucket).select(
        F.col("ids")[0].alias("a"), F.explode(F.slice("ids", 2, 1 << 30)).alias("b"))
    return small.unionByName(large).distinct()


def verified_edges(pairs, sigs, contents, threshold: float, mode: str, shingle_tokens: int, margin: float = 0.1,
                   broadcast_ids: int = 1_000_000, broadcast_sigs: bool = False):
    """Candidate pairs with their Jaccard and whether it reaches the threshold. "estimate": from the signatures;
    "exact": the two files' shingle sets, computed only for pairs whose estimate is within `margin` of the
    threshold (256 permutations estimate with a standard deviation near 0.02, so the margin loses no true pair);
    "none": every candidate is kept. With `broadcast_sigs` the signatures go to every task of the pairs (for a
    signature table that fits in memory), else both are shuffled. Up to `broadcast_ids` files to check are picked
    out of `contents` by a broadcast of their ids, more by a shuffle join."""
    from pyspark.sql import functions as F

    if mode == "none":
        return pairs.withColumn("jaccard", F.lit(None).cast("double")).withColumn("kept", F.lit(True))
    estimate = F.arrow_udf(_estimate_udf, returnType="double")
    s = sigs.select("id", "sig")
    if broadcast_sigs:
        s = F.broadcast(s)  # the pairs stay in their tasks: neither side is shuffled for the two joins
    est = (pairs.join(s.withColumnRenamed("id", "a").withColumnRenamed("sig", "sig_a"), "a")
                .join(s.withColumnRenamed("id", "b").withColumnRenamed("sig", "sig_b"), "b")
                .select("a", "b", estimate("sig_a", "sig_b").alias("jaccard")))
    if mode == "estimate":
        return est.withColumn("kept", F.col("jaccard") >= F.lit(threshold))
    est = est.localCheckpoint()
    close = est.where(F.col("jaccard") >= F.lit(threshold - margin)).select("a", "b")
    far = est.where(F.col("jaccard") < F.lit(threshold - margin)).withColumn("kept", F.lit(False))
    # each file's shingle set once (not once per pair it is in), then set intersections per pair
    involved = close.select(F.col("a").alias("id")).unionByName(close.select(F.col("b").alias("id"))).distinct() \
                    .localCheckpoint()
    involved = broadcast_if_small(involved, broadcast_ids)  # the ids go to every task where they are few
    body = functools.partial(shingle_set_batches, shingle_tokens=shingle_tokens)
    sets = contents.select("id", "content").join(involved, "id", "left_semi").mapInArrow(
        body, "id string, shingles binary")
    exact = F.arrow_udf(_exact_udf, returnType="double")
    checked = (close.join(sets.withColumnRenamed("id", "a").withColumnRenamed("shingles", "set_a"), "a")
                    .join(sets.withColumnRenamed("id", "b").withColumnRenamed("shingles", "set_b"), "b")
                    .select("a", "b", exact("set_a", "set_b").alias("jaccard"))
                    .withColumn("kept", F.col("jaccard") >= F.lit(threshold)))
    return checked.unionByName(far)


def shingle_set_batches(batches, shingle_tokens: int):
    """mapInArrow body: (id, content) in; (id, sorted shingle hashes as uint32 bytes) out."""
    for batch in batches:
        sets = shingle_sets(batch.column("content"), shingle_tokens)
        yield pa.RecordBatch.from_arrays([batch.column("id"), pa.array([s.tobytes() for s in sets], pa.binary())],
                                         names=["id", "shingles"])


def _estimate_udf(a: pa.Array, b: pa.Array) -> pa.Array:
    return estimated_jaccard(a, b)


def _exact_udf(a: pa.Array, b: pa.Array) -> pa.Array:
    """Jaccard of two columns of sorted shingle-hash sets (uint32 bytes)."""
    out = []
    for x, y in zip(a.to_pylist(), b.to_pylist()):
        xs, ys = np.frombuffer(x, dtype=np.uint32), np.frombuffer(y, dtype=np.uint32)
        inter = len(np.intersect1d(xs, ys, assume_unique=True))
        union = len(xs) + len(ys) - inter
        out.append(inter / union if union else 0.0)
    return pa.array(out, pa.float64())


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
