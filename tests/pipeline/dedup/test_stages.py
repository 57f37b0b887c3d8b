"""The dedup stages on small quality-stage outputs: who survives, the reason and detail, and the stats."""
from __future__ import annotations

import dataclasses

import pytest

from pipeline import reasons
from pipeline.config import DedupConfig
from pipeline.dedup.stages import ExactDedup, NearDedup, SegmentDedup
from tests.pipeline.dedup.test_segments import F2 as COPIES_HELPER
from tests.pipeline.dedup.test_segments import F3 as COPIES_BOX

pytestmark = pytest.mark.spark

COLUMNS = ["id", "path", "language", "content", "content_sha256", "quality_score", "reject_reason", "reject_detail"]
SCHEMA = ("id string, path string, language string, content string, content_sha256 string, quality_score float, "
          "reject_reason string, reject_detail string")


def frame(spark, rows: list[tuple]):
    """Rows of (id, language, content, sha, quality_score[, reason, detail]) as a quality-stage output."""
    full = [(r[0], f"{r[0]}.src", r[1], r[2], r[3], r[4], *(r[5:] or (None, None))) for r in rows]
    return spark.createDataFrame(full, SCHEMA)


def outcome(df) -> dict[str, tuple]:
    assert df.columns == COLUMNS
    return {r["id"]: (r["reject_reason"], r["reject_detail"]) for r in df.collect()}


KEPT = (None, None)


def test_exact_keeps_the_highest_score_then_the_smallest_id(spark):
    df = frame(spark, [
        ("x3", "Python", "a = 1\n", "sha-a", 0.9),
        ("x1", "Python", "a = 1\n", "sha-a", 0.7),
        ("x2", "Python", "a = 1\n", "sha-a", 0.9),  # ties x3 on score: the smaller id survives
        # rejected upstream: keeps its reason, and neither wins (despite its score) nor counts as a copy
        ("x0", "Python", "a = 1\n", "sha-a", 0.99, reasons.LOW_QUALITY, "upstream"),
        ("y2", "Python", "b = 2\n", "sha-b", None),  # unscored ranks below any score
        ("y1", "Python", "b = 2\n", "sha-b", None),
        ("y9", "Python", "b = 2\n", "sha-b", 0.1),
        ("z1", "Python", "c = 3\n", "sha-c", 0.2),
    ])
    expected = {
        "x2": KEPT,
        "x1": (reasons.EXACT_DUPLICATE, "same content as x2 (3 copies)"),
        "x3": (reasons.EXACT_DUPLICATE, "same content as x2 (3 copies)"),
        "x0": (reasons.LOW_QUALITY, "upstream"),
        "y9": KEPT,
        "y1": (reasons.EXACT_DUPLICATE, "same content as y9 (3 copies)"),
        "y2": (reasons.EXACT_DUPLICATE, "same content as y9 (3 copies)"),
        "z1": KEPT,
    }
    marked = ExactDedup(DedupConfig()).transform(df)
    assert outcome(marked) == expected
    plan = marked._jdf.queryExecution().executedPlan().toString()
    assert "BroadcastHashJoin" in plan and "SortMergeJoin" not in plan  # the files' content is not shuffled
    # past the broadcast limit the same decisions come through a shuffle join
    from pipeline.dedup.exact import exact_survivors
    assert {r["id"]: (r["exact_survivor"], r["exact_copies"]) for r in exact_survivors(df, 0).collect()} == \
        {r["id"]: (r["exact_survivor"], r["exact_copies"]) for r in exact_survivors(df).collect()}


def steps(edits: dict[int, str] | None = None) -> str:
    """A 60-line Python file of 20 small functions; `edits` replaces lines by index."""
    lines = []
    for i in range(20):
        lines += [f"def step_{i}(values, scale={i}):", f"    total = sum(v * scale for v in values if v > {i * 3})",
                  f"    return total - {i * i}"]
    for k, line in (edits or {}).items():
        lines[k] = line
    return "\n".join(lines) + "\n"


UNRELATED = "\n".join(f"class Widget{i}:\n    size = {i}\n    name = 'w{i}'" for i in range(10)) + "\n"
# three changed lines: exact Jaccard 0.83 to steps(). A candidate at the default candidate_threshold 0.7 (25 bands
# of 10 rows) that exact verification at 0.85 rejects; at 0.85 itself (13 bands of 19 rows) it still shares a band.
BORDERLINE = steps({k: f"    log('changed line {k}', level={k % 5})" for k in (15, 34, 37)})


def near_rows(*ids: str) -> list[tuple]:
    rows = {
        "n1": ("n1", "Python", steps(), "s1", 0.6),
        "n2": ("n2", "Python", steps({4: "    total = sum(v * scale for v in values if v >= 3)"}), "s2", 0.8),
        "n3": ("n3", "Python", steps({58: "    return total - 361 + 1"}), "s3", 0.7),
        "u1": ("u1", "Python", UNRELATED, "s4", 0.5),
        "v1": ("v1", "Python", BORDERLINE, "s5", 0.9),
        "t1": ("t1", "Python", "x = 1", "s6", 0.95),  # 3 tokens: never MinHashed
        # rejected upstream with the best score: it must not become the survivor the kept copies are dropped for
        "r1": ("r1", "Python", steps(), "s1", 0.99, reasons.SYNTAX_ERROR, "upstream"),
    }
    return [rows[i] for i in ids]


@pytest.mark.parametrize("max_edges, where, rounds", [(1_000_000, "driver", 0), (0, "spark", 2)])
def test_near_collapses_near_copies_to_the_best_and_reports_stats(spark, max_edges, where, rounds):
    # the components in the driver's memory and by Spark rounds: the same survivors and reasons
    stage = NearDedup(dataclasses.replace(DedupConfig(), driver_components_max_edges=max_edges))  # verify=exact
    out = outcome(stage.transform(frame(spark, near_rows("n1", "n2", "n3", "u1", "v1", "t1", "r1"))))
    assert out == {
        "n2": KEPT,  # the highest quality score of the component
        "n1": (reasons.NEAR_DUPLICATE, "near-duplicate of n2 (component of 3 files)"),
        "n3": (reasons.NEAR_DUPLICATE, "near-duplicate of n2 (component of 3 files)"),
        "u1": KEPT, "v1": KEPT, "t1": KEPT,
        "r1": (reasons.SYNTAX_ERROR, "upstream"),
    }
    # candidates: the 3 pairs of n1-n3 (exact Jaccard 0.93-0.97) and v1 with each of them (0.80-0.83: rejected)
    assert stage.stats == {"bands": 25, "rows": 10, "candidate_pairs": 6, "edges": 3, "rejected_by_verification": 3,
                           "files_too_short_to_minhash": 1, "cc_rounds": rounds, "components_on": where,
                           "components": 1}


def test_near_without_verification_links_every_candidate(spark):
    stage = NearDedup(dataclasses.replace(DedupConfig(), verify="none"))
    out = outcome(stage.transform(frame(spark, near_rows("n1", "v1"))))
    assert out == {"v1": KEPT, "n1": (reasons.NEAR_DUPLICATE, "near-duplicate of v1 (component of 2 files)")}
    assert stage.stats == {"bands": 13, "rows": 19, "candidate_pairs": 1, "edges": 1, "rejected_by_verification": 0,
                           "files_too_short_to_minhash": 0, "cc_rounds": 0, "components_on": "driver",
                           "components": 1}


ORIGINAL = '''class Box:
    """A box."""

    def __init__(self, w):
        self.w = w

    def area(self):
        # square
        return self.w * self.w


def helper(a, b):
    total = a + b
    if total > 10:
        total -= 10
    return total
'''
GREETER = '''public class Greeter {
    private String name;

    public Greeter(String name) {
        this.name = name;
    }

    public String greet() {
        String s = "Hello, " + name;
        return s;
    }
}
'''
OTHER = '''public class Other {
    private String name;

    public String greet() {
        String s = "Hello, " + name;
        return s;
    }

    public int count(int[] xs) {
        int n = 0;
        for (int x : xs) {
            n += x;
        }
        return n;
    }
}
'''


def test_segments_reject_the_later_file_made_mostly_of_copied_code(spark):
    df = frame(spark, [
        ("p3", "Python", COPIES_BOX, "h3", 0.9),
        ("p2", "Python", COPIES_HELPER, "h2", 0.9),
        ("p1", "Python", ORIGINAL, "h1", 0.1),  # the first copy by id, whatever its score
        ("j1", "Java", GREETER, "h4", 0.5),
        ("j2", "Java", OTHER, "h5", 0.5),
        ("a0", "Python", COPIES_HELPER, "h2", 0.9, reasons.LOW_QUALITY, "upstream"),  # rejected: not a first copy
    ])
    stage = SegmentDedup(dataclasses.replace(DedupConfig(), segment_min_lines=3))
    out = outcome(stage.transform(df))
    assert out == {
        "p1": KEPT,
        # helper: lines 4-9 of 10 code lines
        "p2": (reasons.SEGMENT_DUPLICATE, "60.0% of code lines (6/10) in segments first seen in p1 "
                                          "> dedup.segment_max_dup_frac=0.5"),
        # class Box (and area inside it): 7 non-blank lines of 8; the blank lines inside it do not count
        "p3": (reasons.SEGMENT_DUPLICATE, "87.5% of code lines (7/8) in segments first seen in p1 "
                                          "> dedup.segment_max_dup_frac=0.5"),
        "j1": KEPT,
        "j2": KEPT,  # greet() is 4 of its 14 code lines
        "a0": (reasons.LOW_QUALITY, "upstream"),
    }
    # Python: Box, area, helper in p1; helper, other in p2; Box, area in p3. Java: class, constructor, greet in j1;
    # class, greet, count in j2.
    assert stage.stats == {"segment_duplication_by_language": {
        "Python": {"segments": 7, "duplicates": 3, "rate": 0.4286},
        "Java": {"segments": 6, "duplicates": 1, "rate": 0.1667}}}
