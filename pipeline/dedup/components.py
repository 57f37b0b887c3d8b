"""Connected components on Spark DataFrames by alternating large-star and small-star (Kiveris et al., 2014).

Edges are canonical pairs (u < v) of string ids; no edge list is ever collected to the driver. After convergence
every component is a star around its smallest id, so each edge reads (node, root)."""
from __future__ import annotations


def _canonical(df, a: str, b: str):
    from pyspark.sql import functions as F

    return (df.select(F.least(a, b).alias("u"), F.greatest(a, b).alias("v"))
              .where(F.col("u") != F.col("v")).distinct())


def large_star(edges):
    """Each node links its larger neighbours to the smallest id among itself and its neighbours."""
    from pyspark.sql import functions as F

    both = edges.select("u", "v").unionByName(edges.select(F.col("v").alias("u"), F.col("u").alias("v")))
    m = both.groupBy("u").agg(F.least(F.col("u"), F.min("v")).alias("m"))
    return _canonical(both.join(m, "u").where(F.col("v") > F.col("u")), "v", "m")


def small_star(edges):
    """Each node links itself and its smaller neighbours to the smallest of them."""
    from pyspark.sql import functions as F

    down = edges.select(F.col("v").alias("node"), F.col("u").alias("nbr"))  # nbr < node
    m = down.groupBy("node").agg(F.min("nbr").alias("m"))
    linked = down.join(m, "node").select(F.col("nbr").alias("a"), F.col("m").alias("b"))
    return _canonical(linked.unionByName(m.select(F.col("node").alias("a"), F.col("m").alias("b"))), "a", "b")


def _fingerprint(edges) -> tuple[int, int]:
    from pyspark.sql import functions as F

    row = edges.agg(F.count(F.lit(1)), F.sum(F.pmod(F.xxhash64("u", "v"), F.lit(1_000_000_007)))).first()
    return int(row[0]), int(row[1] or 0)


def connected_components(edges, max_rounds: int = 64):
    """(node, root) for every node that has an edge, root = the component's smallest id; (frame, rounds)."""
    from pyspark.sql import functions as F

    current = _canonical(edges, edges.columns[0], edges.columns[1]).localCheckpoint()
    seen = _fingerprint(current)
    for rounds in range(1, max_rounds + 1):
        nxt = small_star(large_star(current)).localCheckpoint()  # cut the lineage every round
        now = _fingerprint(nxt)
        current = nxt
        if now == seen:
            break
        seen = now
    else:
        raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")
    roots = current.select("u").distinct().join(current.select(F.col("v").alias("u")).distinct(), "u", "left_anti")
    out = current.select(F.col("v").alias("node"), F.col("u").alias("root")).unionByName(
        roots.select(F.col("u").alias("node"), F.col("u").alias("root")))
    return out, rounds
