"""The detox stage: rejects files with malicious-code patterns, or toxic words in their comments and strings."""
from __future__ import annotations

import pyarrow as pa

from pipeline import reasons
from pipeline.config import DetoxConfig
from pipeline.detox import matchers
from pipeline.stage import REASON, BatchStage, ensure_reject_columns, mark


class Detoxifier(BatchStage):
    """Adds no columns. Malicious code is checked first (the graver finding); then each toxic category on its own
    reaches detox.min_toxic_hits or not, and the category with the most hits names the rejection."""

    name = "detox"
    reads = ("content", "language")

    def __init__(self, cfg: DetoxConfig, budget_ms: float):
        self.cfg = cfg
        self.budget_ms = budget_ms
        self.categories = frozenset(cfg.categories)
        matchers.load_lists(cfg.lists_dir)  # a missing folder or a broken pattern fails here, before any job

    def judge(self, text: str | None, language: str | None) -> tuple[str | None, str | None]:
        """(reason, detail) for one file, or (None, None) to keep it."""
        if not text:
            return None, None
        lists = matchers.load_lists(self.cfg.lists_dir)
        lower = text.lower()
        found = matchers.malicious_match(text, lists, self.categories, lower)
        if found:
            return reasons.MALICIOUS_CODE, f"{found[0]}: {found[1]}"
        hits = matchers.toxic_matches(text, language, lists, self.categories, self.cfg.min_toxic_hits,
                                      self.budget_ms, lower)
        over = [(len(words), category) for category, words in hits.items() if len(words) >= self.cfg.min_toxic_hits]
        if not over:
            return None, None
        count, category = max(over, key=lambda x: (x[0], x[1] == "toxic_en"))
        shown = list(dict.fromkeys(w.lower() for w in hits[category]))[:3]
        return reasons.TOXIC_CONTENT, (f"{category}: {count} hit{'s' if count != 1 else ''} >= detox.min_toxic_hits="
                                       f"{self.cfg.min_toxic_hits} ({', '.join(shown)})")

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        batch = ensure_reject_columns(batch)
        rejected = batch.column(REASON).is_valid().to_pylist()
        texts = batch.column("content").to_pylist()
        languages = batch.column("language").to_pylist()
        verdicts = {reasons.MALICIOUS_CODE: ([False] * batch.num_rows, [None] * batch.num_rows),
                    reasons.TOXIC_CONTENT: ([False] * batch.num_rows, [None] * batch.num_rows)}
        for i, (text, language) in enumerate(zip(texts, languages)):
            if rejected[i]:  # rejected upstream: leave it alone
                continue
            reason, detail = self.judge(text, language)
            if reason:
                verdicts[reason][0][i], verdicts[reason][1][i] = True, detail
        for reason, (mask, details) in verdicts.items():
            if any(mask):
                batch = mark(batch, pa.array(mask, pa.bool_()), reason, pa.array(details, pa.string()))
        return batch
