"""The sft stage: documented functions of kept files become code–comment pairs, kept or rejected by the seed's rules."""
from __future__ import annotations

import hashlib

import pyarrow as pa

from pipeline.config import SftConfig
from pipeline.quality.analyze import ParseBudgetExceeded
from pipeline.quality.facts import FACT_COLUMNS, row_candidates
from pipeline.sft.rules import judge
from pipeline.stage import REASON, BatchStage
from schemas import SFT_CHATML, SFT_PAIRS, with_reject_columns
from schemas.chatml import render_batches

PAIRS_SCHEMA = with_reject_columns(SFT_PAIRS)


class SftExtractor(BatchStage):
    """Files in, pairs out: a stage whose rows are not its input rows (every candidate pair is kept or rejected)."""

    name = "sft"
    one_row_per_input = False

    def __init__(self, cfg: SftConfig, budget_ms: float):
        self.cfg, self.budget_ms = cfg, budget_ms

    def output_schema(self, input_schema: pa.Schema) -> pa.Schema:
        return PAIRS_SCHEMA

    def pairs(self, row: dict) -> list[dict]:
        if row["content"] is None or (self.cfg.languages and row["language"] not in self.cfg.languages):
            return []
        try:
            found = row_candidates(row, self.budget_ms)
        except ParseBudgetExceeded:
            return []  # the quality stage already rejects files that blow the budget
        out = []
        for c in found:
            reason, detail = judge(c, self.cfg.min_code_lines, self.cfg.min_effective_line_frac,
                                   self.cfg.max_comment_chars)
            key = f"{row['id']}:{c.start_line}:{c.name}"
            out.append({
                "id": hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest(),
                "file_id": row["id"], "source": row["source"], "repo": row["repo"], "path": row["path"],
                "language": row["language"], "function_name": c.name, "start_line": c.start_line,
                "end_line": c.end_line, "n_lines": c.n_lines,
                "effective_line_frac": c.effective_lines / c.n_lines if c.n_lines else 0.0,
                "comment_style": c.comment_style, "comment": c.comment, "code": c.code,
                "size_bytes": len(c.code.encode("utf-8", "replace")) + len(c.comment.encode("utf-8", "replace")),
                "reject_reason": reason, "reject_detail": detail})
        return out

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        names = ["id", "source", "repo", "path", "language", "content", "content_sha256", "quality_grammar",
                 *FACT_COLUMNS]
        rows = batch.select([n for n in names if n in batch.schema.names]).to_pylist()
        return pa.RecordBatch.from_pylist([p for row in rows for p in self.pairs(row)], schema=PAIRS_SCHEMA)

    def extra_outputs(self, kept_df) -> dict:
        """Tables derived from the kept pairs, written beside them: the ChatML conversations."""
        import functools

        from schemas.spark import spark_schema

        body = functools.partial(render_batches, tasks=list(self.cfg.tasks), zh_share=self.cfg.zh_share)
        return {"chatml": kept_df.drop(REASON).mapInArrow(body, spark_schema(SFT_CHATML))}
