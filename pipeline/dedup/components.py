"""Connected components of string-id edges, rooted at each component's smallest id: on Spark by alternating
large-star and small-star (Kiveris et al., 2014), or in memory with scipy when the edge list is small.

On Spark, edges are canonical pairs (u < v) and no edge list is collected to the driver; after convergence every
component is a star around its smallest id, so each edge reads (node, root). Both ways give the same (node, root)
rows: roots compare ids by their UTF-8 bytes, as Spark's string order does."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

COMPONENTS = pa.schema([("node", pa.string()), ("root", pa.string())])


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


def components_in_memory(a: pa.Array, b: pa.Array) -> pa.Table:
    """(node, root) for every node on an edge a[i]-b[i] that is not a self loop, root = the component's smallest
    id (scipy's connected_components on the edges numbered by sorted id)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as scipy_components

    a, b = (pa.chunked_array([x]) if isinstance(x, pa.Array) else x for x in (a, b))
    a, b = a.cast(pa.string()), b.cast(pa.string())
    loop = pc.equal(a, b)
    a, b = a.filter(pc.invert(loop)), b.filter(pc.invert(loop))
    nodes = pc.unique(pa.chunked_array(a.chunks + b.chunks, pa.string()))
    nodes = nodes.take(pc.sort_indices(nodes))  # binary order, as Spark compares strings
    if len(nodes) == 0:
        return COMPONENTS.empty_table()
    u = pc.index_in(a, value_set=nodes).to_numpy()
    v = pc.index_in(b, value_set=nodes).to_numpy()
    graph = coo_matrix((np.ones(len(u), np.int8), (u, v)), shape=(len(nodes), len(nodes)))
    _, label = scipy_components(graph, directed=False)
    first = np.full(label.max() + 1, len(nodes), dtype=np.int64)
    np.minimum.at(first, label, np.arange(len(nodes)))  # the smallest index, so the smallest id, per component
    return pa.table([nodes, nodes.take(pa.array(first[label]))], schema=COMPONENTS)


def connected_components_on_driver(edges):
    """((node, root) as `connected_components` gives them, number of components), computed in the driver's
    memory: for an edge list small enough to collect, where the distributed rounds cost more in Spark jobs than
    the whole graph does here."""
    from schemas.spark import spark_schema

    table = edges.toArrow()
    out = components_in_memory(table.column(0), table.column(1))
    return edges.sparkSession.createDataFrame(out, spark_schema(COMPONENTS)), len(pc.unique(out.column("root")))
