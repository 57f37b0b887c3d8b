"""Connected components, by large-star/small-star on Spark and in memory: every node maps to its component's
smallest id, and the two ways give the same rows."""
from __future__ import annotations

import random

import pyarrow as pa
import pytest

from pipeline.dedup.components import components_in_memory, connected_components, connected_components_on_driver


def union_find(edges: list[tuple[str, str]]) -> dict[str, str]:
    """{node: smallest id of its component} for every node on an edge other than a self loop."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        if a == b:
            continue
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in parent}


def components(spark, edges: list[tuple[str, str]]) -> tuple[dict[str, str], int]:
    frame, rounds = connected_components(spark.createDataFrame(edges, "a string, b string"))
    rows = frame.collect()
    out = {r["node"]: r["root"] for r in rows}
    assert len(out) == len(rows)  # one root per node
    return out, rounds


CHAINS = [("n3", "n1"), ("n1", "n4"), ("n4", "n2"), ("m9", "m7"), ("m8", "m9")]


def in_memory(edges: list[tuple[str, str]]) -> dict[str, str]:
    table = components_in_memory(pa.array([a for a, _ in edges], pa.string()), pa.array([b for _, b in edges],
                                                                                         pa.string()))
    assert table.schema.names == ["node", "root"]
    out = dict(zip(table.column("node").to_pylist(), table.column("root").to_pylist()))
    assert len(out) == table.num_rows  # one root per node
    return out


def test_in_memory_chains_cycle_star_and_self_loops():
    edges = CHAINS + [("c2", "c3"), ("c3", "c4"), ("c4", "c5"), ("c5", "c2"), ("s5", "s1"), ("s5", "s2"),
                      ("s1", "s5"), ("x", "x"), ("c4", "c4")]
    assert in_memory(edges) == {"n1": "n1", "n2": "n1", "n3": "n1", "n4": "n1", "m7": "m7", "m8": "m7",
                                "m9": "m7", **{f"c{i}": "c2" for i in range(2, 6)}, "s1": "s1", "s2": "s1",
                                "s5": "s1"}
    assert in_memory([]) == {} and in_memory([("x", "x")]) == {}


def test_in_memory_roots_are_the_smallest_id_in_utf8_byte_order():
    # "é" (U+00E9) is above "z" in UTF-8 bytes and code points; "Z" is below "a": Spark compares bytes
    assert in_memory([("é1", "z1"), ("z1", "Z1"), ("a2", "é2")]) == {"é1": "Z1", "z1": "Z1", "Z1": "Z1",
                                                                     "a2": "a2", "é2": "a2"}


@pytest.mark.spark
def test_on_driver_equals_union_find_on_random_graphs(spark):
    # the Spark rounds equal union_find on the graphs of the tests below (and the in-memory way there too)
    rng = random.Random(11)
    nodes = [f"f{rng.randrange(10**6):06d}" for _ in range(300)]
    for m in (120, 600):  # many small components; one giant one
        edges = [(rng.choice(nodes), rng.choice(nodes)) for _ in range(m)]
        found, n_components = connected_components_on_driver(spark.createDataFrame(edges, "a string, b string"))
        on_driver = {r["node"]: r["root"] for r in found.collect()}
        assert on_driver == union_find(edges) == in_memory(edges)
        assert n_components == len(set(on_driver.values())) >= 1


@pytest.mark.spark
def test_chains_cycle_star_duplicates_reversed_edges_and_self_loops(spark):
    cycle = [("c2", "c3"), ("c3", "c4"), ("c4", "c5"), ("c5", "c2")]
    star = [("s5", "s1"), ("s5", "s2"), ("s5", "s3"), ("s5", "s4")]  # the hub is not the smallest id
    noise = [("c3", "c2"), ("c2", "c3"), ("s1", "s5"), ("s5", "s5"), ("c4", "c4"), ("x", "x")]
    edges = CHAINS + cycle + star + noise
    got, _ = components(spark, edges)
    assert got == {"n1": "n1", "n2": "n1", "n3": "n1", "n4": "n1", "m7": "m7", "m8": "m7", "m9": "m7",
                   **{f"c{i}": "c2" for i in range(2, 6)}, **{f"s{i}": "s1" for i in range(1, 6)}}
    assert "x" not in got  # a node with only a self loop has no edge
    assert got == union_find(edges) == in_memory(edges)


@pytest.mark.spark
def test_long_shuffled_chain_is_one_component_rooted_at_the_min_id(spark):
    rng = random.Random(7)
    nodes = [f"v{i:04d}" for i in range(500)]
    rng.shuffle(nodes)  # the chain visits ids in random order
    edges = [(nodes[i], nodes[i + 1]) if rng.random() < 0.5 else (nodes[i + 1], nodes[i]) for i in range(499)]
    rng.shuffle(edges)
    got, rounds = components(spark, edges)
    assert got == union_find(edges) == in_memory(edges) == {n: "v0000" for n in nodes}
    assert rounds <= 16  # 8 on this chain; the loop allows 64


@pytest.mark.spark
def test_no_edges_and_max_rounds(spark):
    got, rounds = components(spark, [])
    assert (got, rounds) == ({}, 1)
    chain = [(f"v{i:03d}", f"v{i + 1:03d}") for i in range(0, 64)]
    with pytest.raises(RuntimeError, match="did not converge in 1 rounds"):
        connected_components(spark.createDataFrame(chain[::-1], "a string, b string"), max_rounds=1)
