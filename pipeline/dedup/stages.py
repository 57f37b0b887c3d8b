"""The three dedup stages: DataFrame steps that mark duplicate rows with a reason naming the kept copy."""
from __future__ import annotations

from pipeline import reasons
from pipeline.config import DedupConfig, MiB
from pipeline.spark.marks import live_rows, mark_rows
from pipeline.stage import FrameStage


class _DedupStage(FrameStage):
    def __init__(self, cfg: DedupConfig, budget_ms: float = 2000.0):
        super().__init__()
        self.cfg, self.budget_ms = cfg, budget_ms


class ExactDedup(_DedupStage):
    """One copy per content hash survives: the highest quality score, then the smallest id."""

    name = "exact"

    def transform(self, df):
        from pyspark.sql import functions as F

        from pipeline.dedup.exact import exact_survivors

        marked = exact_survivors(df)
        detail = F.concat(F.lit("same content as "), F.col("exact_survivor"), F.lit(" ("),
                          F.col("exact_copies").cast("string"), F.lit(" copies)"))
        out = mark_rows(marked, F.col("exact_survivor") != F.col("id"), reasons.EXACT_DUPLICATE, detail)
        return out.select(*df.columns)


class NearDedup(_DedupStage):
    """MinHash LSH over code-token shingles; one survivor per connected component of verified pairs."""

    name = "near"

    def check(self) -> None:
        """Fail at start-up, not after the earlier stages ran, when the LSH parameters do not exist."""
        from pipeline.dedup.near import lsh_params

        lsh_params(self.cfg.threshold if self.cfg.verify == "none" else self.cfg.candidate_threshold,
                   self.cfg.num_perm)

    def transform(self, df):
        from pyspark.sql import functions as F

        from pipeline.dedup.components import connected_components, connected_components_on_driver
        from pipeline.dedup.near import candidate_pairs, lsh_params, signature_frame, survivors, verified_edges

        c = self.cfg
        # unverified candidates become edges, so they must be drawn at the threshold itself
        bands, rows = lsh_params(c.threshold if c.verify == "none" else c.candidate_threshold, c.num_perm)
        live = live_rows(df)
        sigs = signature_frame(live, c.shingle_tokens, c.num_perm, c.seed, c.min_tokens).localCheckpoint()
        sig_counts = sigs.agg(F.count(F.lit(1)), F.count("sig")).first()
        skipped = int(sig_counts[0]) - int(sig_counts[1])
        pairs = candidate_pairs(sigs, bands, rows, c.max_bucket)
        pairs = verified_edges(pairs, sigs, live, c.threshold, c.verify, c.shingle_tokens, c.verify_margin,
                               broadcast_sigs=int(sig_counts[1]) * c.num_perm * 4 <= c.broadcast_signatures_mb * MiB
                               ).localCheckpoint()
        counts = pairs.agg(F.count(F.lit(1)), F.sum(F.col("kept").cast("long"))).first()
        self.stats = {"bands": bands, "rows": rows, "candidate_pairs": int(counts[0]),
                      "edges": int(counts[1] or 0), "rejected_by_verification": int(counts[0]) - int(counts[1] or 0),
                      "files_too_short_to_minhash": skipped, "cc_rounds": 0}
        edges = pairs.where("kept").select("a", "b")
        if self.stats["edges"] == 0:
            return df
        if self.stats["edges"] <= c.driver_components_max_edges:
            components, self.stats["components"] = connected_components_on_driver(edges)
            self.stats["components_on"] = "driver"
        else:
            components, self.stats["cc_rounds"] = connected_components(edges)
            self.stats["components"] = components.select("root").distinct().count()  # one survivor per root
            self.stats["components_on"] = "spark"
        best = survivors(components, sigs).localCheckpoint()
        marked = df.join(best, "id", "left")
        detail = F.concat(F.lit("near-duplicate of "), F.col("survivor"), F.lit(" (component of "),
                          F.col("size").cast("string"), F.lit(" files)"))
        out = mark_rows(marked, F.col("survivor").isNotNull() & (F.col("survivor") != F.col("id")),
                    reasons.NEAR_DUPLICATE, detail)
        return out.select(*df.columns)


class SegmentDedup(_DedupStage):
    """Files made mostly of functions/classes first seen in another file (by stable id) are rejected."""

    name = "segments"

    def transform(self, df):
        from pyspark.sql import functions as F

        from pipeline.dedup.segments import duplicated_share

        c = self.cfg
        lines, segs = duplicated_share(live_rows(df), c.segment_min_lines, self.budget_ms)
        lines = lines.localCheckpoint()
        by_lang = segs.groupBy("language").agg(F.count(F.lit(1)).alias("n"),
                                               F.sum(F.col("dup").cast("long")).alias("d"))
        self.stats = {"segment_duplication_by_language": {
            r["language"]: {"segments": int(r["n"]), "duplicates": int(r["d"]), "rate": round(r["d"] / r["n"], 4)}
            for r in sorted(by_lang.collect(), key=lambda r: -r["n"])}}
        marked = df.join(lines, "id", "left")
        share = F.col("dup_lines") / F.col("code_lines")
        detail = F.concat(F.format_number(share * 100, 1), F.lit("% of code lines ("),
                          F.col("dup_lines").cast("string"),
                          F.lit("/"), F.col("code_lines").cast("string"), F.lit(") in segments first seen in "),
                          F.col("first_copy"), F.lit(f" > dedup.segment_max_dup_frac={c.segment_max_dup_frac:g}"))
        out = mark_rows(marked, share > F.lit(c.segment_max_dup_frac), reasons.SEGMENT_DUPLICATE, detail)
        return out.select(*df.columns)
