"""The portrait's numbers, read from a finished run's tables: funnel, languages, quality, syntax, dups, PII."""
from __future__ import annotations

from pipeline.spark import commit
from pipeline.stages import REGISTRY
from schemas import STATUS_KEPT, STATUS_REJECTED

DUP_STAGES = ("exact", "near", "segments")
PII = ("pii_email", "pii_ip_address", "pii_key", "pii_password", "pii_private_key")


def _kept_parts(spark, fs, stages: list[dict], name: str) -> list:
    """The parts holding a stage's kept rows: its kept table, or for a stage of a row pass (no kept table of its
    own) the rejects of the pass's later stages and the kept table of its last."""
    parts, after = [], False
    for stage in stages:
        if stage["name"] == name:
            after = True
            if stage["kept_table"]:
                return [commit.read_part(spark, fs, stage["path"], STATUS_KEPT)]
            continue
        if after:
            parts.append(commit.read_part(spark, fs, stage["path"], STATUS_REJECTED))
            if stage["kept_table"]:
                parts.append(commit.read_part(spark, fs, stage["path"], STATUS_KEPT))
                break
    return parts


def _union(parts: list):
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    cols = sorted(set.intersection(*[set(p.columns) for p in parts]))
    out = parts[0].select(*cols)
    for p in parts[1:]:
        out = out.unionByName(p.select(*cols))
    return out


def _both(spark, fs, stages: list[dict], name: str):
    """Every row the stage judged: its rejects and its kept rows."""
    stage = next(s for s in stages if s["name"] == name)
    return _union([commit.read_part(spark, fs, stage["path"], STATUS_REJECTED),
                   *_kept_parts(spark, fs, stages, name)])


def collect(spark, fs, summary: dict) -> dict:
    """Everything the report shows, as plain JSON-able data."""
    from pyspark.sql import functions as F

    stages = {s["name"]: s for s in summary["stages"]}
    data = {"run": summary["output"], "funnel": [], "languages": {}, "quality_histograms": {},
            "resampling": stages.get("resample", {}).get("stats", {})}
    for s in summary["stages"]:
        data["funnel"].append({k: s[k] for k in ("name", "rows_in", "kept", "rejected", "mb_in", "mb_kept",
                                                 "rejected_by_reason")} | {
            "rejected_mb_by_reason": s.get("rejected_mb_by_reason", {}), "main": REGISTRY[s["name"]].main})
    langs = data["languages"]

    def add(rows, key, value=lambda r, k: r[k]):
        for r in rows:
            langs.setdefault(r["language"] or "unknown", {})[key] = value(r, key)

    if summary.get("final_table"):
        final = spark.read.parquet(summary["final_table"])
        add(final.groupBy("language").agg(F.count(F.lit(1)).alias("files"),
                                          F.round(F.sum("size_bytes") / 1e6, 3).alias("mb")).collect(), "files")
        add(final.groupBy("language").agg(F.round(F.sum("size_bytes") / 1e6, 3).alias("mb")).collect(), "mb")
    if "quality" in stages and (q := _both(spark, fs, summary["stages"], "quality")) is not None:
        scored = q.where(F.col("quality_scored"))
        rates = scored.groupBy("language").agg(
            F.round(F.avg(F.coalesce(F.col("reject_reason") == "syntax_error", F.lit(False)).cast("double")), 4)
            .alias("syntax_error_rate"),
            F.round(F.avg("quality_score"), 4).alias("mean_quality")).collect()
        add(rates, "syntax_error_rate")
        add(rates, "mean_quality")
        bins = scored.where(F.col("quality_score").isNotNull()).groupBy(
            "language", F.least(F.floor(F.col("quality_score") * 10), F.lit(9)).alias("bin")).count().collect()
        for r in bins:
            hist = data["quality_histograms"].setdefault(r["language"], [0] * 10)
            hist[int(r["bin"])] = int(r["count"])
    dup_in = {}
    for name in DUP_STAGES:
        if name in stages and (d := _both(spark, fs, summary["stages"], name)) is not None:
            for r in d.groupBy("language").agg(F.count(F.lit(1)).alias("n"),
                                               F.sum(F.col("reject_reason").isNotNull().cast("long")).alias("r"))\
                      .collect():
                entry = dup_in.setdefault(r["language"] or "unknown", {"in": 0, "dups": 0})
                entry["in"] = max(entry["in"], int(r["n"]))  # rows entering the first dedup stage
                entry["dups"] += int(r["r"])
    for lang, e in dup_in.items():
        langs.setdefault(lang, {})["duplicate_rate"] = round(e["dups"] / e["in"], 4) if e["in"] else 0.0
    if "privacy" in stages and (p := _union(_kept_parts(spark, fs, summary["stages"], "privacy"))) is not None:
        present = [c for c in PII if c in p.columns]
        if present:
            sums = p.groupBy("language").agg(*[F.sum(c).alias(c) for c in present]).collect()
            for r in sums:
                langs.setdefault(r["language"] or "unknown", {})["pii"] = {c[4:]: int(r[c] or 0) for c in present}
    data["languages"] = dict(sorted(langs.items(), key=lambda kv: -(kv[1].get("mb") or 0)))
    return data
