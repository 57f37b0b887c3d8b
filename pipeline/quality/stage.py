"""The quality stage: scores every file of a supported language, rejects syntax errors and low scores."""
from __future__ import annotations

import functools

import pyarrow as pa

from pipeline import reasons
from pipeline.config import QualityConfig
from pipeline.quality.analyze import ParseBudgetExceeded, analyze
from pipeline.quality.facts import facts_after_edits, facts_of_tree
from pipeline.quality.score import composite
from pipeline.quality.specs import SPECS
from pipeline.stage import DETAIL, REASON, BatchStage, ensure_reject_columns
from schemas import PARSE_FACTS, QUALITY_COLUMNS, with_reject_columns

ADDED = pa.schema(list(QUALITY_COLUMNS) + list(PARSE_FACTS))


class QualityScorer(BatchStage):
    """Adds QUALITY_COLUMNS, and PARSE_FACTS on the rows it keeps; files of languages without a grammar pass through
    with quality_scored = false."""

    name = "quality"
    tally = ("quality_scored",)
    # Set by a row pass whose next stage rewrites content (privacy's rewrite_ahead): the batch's content -> a
    # function (row, text) -> (new text, replaced (start, end, new) character spans) or None. A kept file's facts
    # are then those of its new text, from its tree by an incremental re-parse around the replacements, so privacy
    # need not parse it again.
    rewrite = None

    def __init__(self, cfg: QualityConfig):
        self.cfg = cfg

    def output_schema(self, input_schema: pa.Schema) -> pa.Schema:
        base = [f for f in input_schema if ADDED.get_field_index(f.name) < 0 and f.name not in (REASON, DETAIL)]
        return with_reject_columns(pa.schema(base + list(ADDED)))

    def allowed_error_ratio(self, language: str) -> float:
        return self.cfg.error_ratio_by_language.get(language, self.cfg.max_error_ratio)

    def score_one(self, text: str | None, language: str | None, avg_line_len: float | None,
                  path: str | None = None, rewrite=None):
        """(metrics dict or None, reason, detail) for one file; `rewrite`: text -> what the next stage will make of
        it (see `rewrite`), for the facts of a kept file."""
        if text is None or language not in SPECS:
            return None, None, None
        size = len(text.encode("utf-8"))
        if size > self.cfg.max_parse_bytes:
            return None, reasons.PARSE_BUDGET_EXCEEDED, \
                f"{size} bytes > quality.max_parse_bytes={self.cfg.max_parse_bytes}"
        try:
            m = analyze(text, language, self.cfg.parse_budget_ms, self.allowed_error_ratio(language), path,
                        keep_tree=True)
        except ParseBudgetExceeded as e:
            return None, reasons.PARSE_BUDGET_EXCEEDED, str(e)
        except RecursionError:
            return None, reasons.PARSE_BUDGET_EXCEEDED, "tree too deep to measure"
        parsed = m.pop("parsed")
        m["avg_line_len"] = avg_line_len or 0.0
        m["quality_score"], subs = composite(m, self.cfg.weights)
        limit = self.allowed_error_ratio(language)
        if m["error_ratio"] > limit:
            key = f"quality.error_ratio_by_language.{language}" if language in self.cfg.error_ratio_by_language \
                else "quality.max_error_ratio"
            return m, reasons.SYNTAX_ERROR, f"error_ratio={m['error_ratio']:.4f} > {key}={limit:g} " \
                                            f"({m['quality_grammar']} grammar)"
        if m["quality_score"] < self.cfg.min_score:
            weakest = sorted((v, k) for k, v in subs.items() if v is not None)[:2]
            return m, reasons.LOW_QUALITY, f"quality_score={m['quality_score']:.3f} < quality.min_score=" \
                                           f"{self.cfg.min_score:g}; weakest: " + \
                                           ", ".join(f"{k}={v:.2f}" for v, k in weakest)
        try:
            m["facts"] = self._facts(parsed, text, rewrite)
        except RecursionError:
            return None, reasons.PARSE_BUDGET_EXCEEDED, "tree too deep to measure"
        return m, None, None

    def _facts(self, parsed, text: str, rewrite) -> dict:
        """A kept file's PARSE_FACTS: of the text the next stage will make of it where `rewrite` says it changes
        (from an incremental re-parse; none where that runs past the budget, so segments and sft parse the row),
        else of its text."""
        change = rewrite(text) if rewrite is not None else None
        if change is None:
            return facts_of_tree(parsed.tree.root_node, parsed.captures, parsed.source, parsed.spec_key)
        try:
            return facts_after_edits(parsed, text, change[0], change[1], self.cfg.parse_budget_ms)
        except ParseBudgetExceeded:
            return {}

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        batch = ensure_reject_columns(batch)
        keep = [f.name for f in batch.schema if ADDED.get_field_index(f.name) < 0]
        batch = batch.select(keep)
        cols = {f.name: [] for f in ADDED}
        reasons_out = batch.column(REASON).to_pylist()
        details_out = batch.column(DETAIL).to_pylist()
        ahead = self.rewrite(batch.column("content")) if self.rewrite is not None else None
        rows = zip(batch.column("content").to_pylist(), batch.column("language").to_pylist(),
                   batch.column("avg_line_len").to_pylist(), batch.column("path").to_pylist())
        for i, (text, language, avg, path) in enumerate(rows):
            if reasons_out[i] is not None:  # rejected upstream: leave it alone
                m, reason, detail = None, None, None
            else:
                m, reason, detail = self.score_one(text, language, avg, path,
                                                   functools.partial(ahead, i) if ahead is not None else None)
            for f in QUALITY_COLUMNS:
                cols[f.name].append(m.get(f.name) if m else None)
            cols["quality_scored"][-1] = m is not None
            facts = m["facts"] if m and not reason else {}  # a rejected row has none: they would serve no stage
            for f in PARSE_FACTS:
                cols[f.name].append(facts.get(f.name))
            if reason:
                reasons_out[i], details_out[i] = reason, detail
        arrays = [batch.column(n) for n in keep if n not in (REASON, DETAIL)]
        arrays += [pa.array(cols[f.name], type=f.type) for f in ADDED]
        arrays += [pa.array(reasons_out, pa.string()), pa.array(details_out, pa.string())]
        names = [n for n in keep if n not in (REASON, DETAIL)] + ADDED.names + [REASON, DETAIL]
        return pa.RecordBatch.from_arrays(arrays, names=names)
