"""The privacy stage: replaces personal data and secrets in kept rows' content, counts them, and rejects nothing."""
from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.config import PrivacyConfig
from pipeline.privacy.detectors import detectors_for
from pipeline.privacy.scrub import PLACEHOLDERS, candidates, replaced, replacements, scrub_array
from pipeline.quality.facts import FACT_COLUMNS, facts_of
from pipeline.stage import DETAIL, REASON, BatchStage, ensure_reject_columns
from schemas import with_reject_columns

# Added by the privacy stage: replacements per type in the row's content; null on rows rejected upstream (and for
# types not in privacy.types), 0 when none was found.
PII_COLUMNS = pa.schema(
    [
        pa.field("pii_email", pa.int32(), metadata={"doc": "e-mail addresses replaced by <EMAIL>"}),
        pa.field("pii_ip_address", pa.int32(), metadata={"doc": "public IP addresses replaced by <IP_ADDRESS>"}),
        pa.field("pii_key", pa.int32(), metadata={"doc": "API keys and tokens replaced by <KEY>"}),
        pa.field("pii_password", pa.int32(), metadata={"doc": "passwords replaced by <PASSWORD>"}),
        pa.field("pii_private_key", pa.int32(), metadata={"doc": "PEM private-key blocks replaced by <PRIVATE_KEY>"}),
    ]
)
COLUMN_OF = {"EMAIL": "pii_email", "IP_ADDRESS": "pii_ip_address", "KEY": "pii_key", "PASSWORD": "pii_password",
             "PRIVATE_KEY": "pii_private_key"}


class PrivacyScrubber(BatchStage):
    """Adds PII_COLUMNS; content, size_bytes and content_sha256 change only on rows where something was replaced.

    The other measured columns (n_lines, line lengths, alnum_frac) keep their ingest values: they describe the file
    the filter judged, and `id` stays the file's identity. A replaced row that carried the quality parse's facts
    gets them afresh from one parse of its new content, so segments and sft need not parse it (twice). In a row
    pass the stage before it (quality) asks for a kept file's replacements while it still holds the file's tree
    (`rewrite_ahead`) and takes the facts of the new content from it; apply then uses what was worked out."""

    name = "privacy"
    sums = tuple(PII_COLUMNS.names)
    changes_content = True

    def __init__(self, cfg: PrivacyConfig, budget_ms: float = 2000.0):
        self.cfg, self.budget_ms = cfg, budget_ms
        self._ahead: dict[str, tuple[str, dict[str, int]]] = {}  # content -> (new content, counts), for apply

    def rewrite_ahead(self, texts: pa.Array):
        """For the stage before this one, which holds the parse of these rows (quality in a row pass): a function
        (row index, text) -> what apply will make of that row, (new content, the (start, end, placeholder)
        character spans replaced), or None where nothing is. The rows are screened as a batch here, as apply does;
        what the function works out is kept until the next apply, which uses it instead of scanning again."""
        types = tuple(self.cfg.types)
        flags = candidates(texts, detectors_for(types))
        self._ahead = {}  # a new dict: a copy of this stage (a row pass links copies) shares none with the original

        def rewrite(i: int, text: str) -> tuple[str, list[tuple[int, int, str]]] | None:
            spans = replacements(text, types, self.cfg.min_secret_entropy, flags[i])
            self._ahead[text] = replaced(text, spans, types)
            return (self._ahead[text][0], [(s.start, s.end, PLACEHOLDERS[s.type]) for s in spans]) if spans else None

        return rewrite

    def output_schema(self, input_schema: pa.Schema) -> pa.Schema:
        base = [f for f in input_schema
                if PII_COLUMNS.get_field_index(f.name) < 0 and f.name not in (REASON, DETAIL)]
        return with_reject_columns(pa.schema(base + list(PII_COLUMNS)))

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        batch = ensure_reject_columns(batch)
        schema = self.output_schema(batch.schema)
        content = batch.column("content")
        ahead, self._ahead = self._ahead, {}
        pending = content.to_pylist()
        done = [text in ahead for text in pending] if ahead else None
        # Rows rejected upstream (and rows worked out ahead) go to the scan as nulls: rejected ones are never
        # scanned, never changed, their counts null.
        skip = batch.column(REASON).is_valid()
        if done is not None:
            done = [d and not r for d, r in zip(done, skip.to_pylist())]
            skip = pc.or_(skip, pa.array(done, pa.bool_()))
        texts = pc.if_else(skip, pa.scalar(None, content.type), content)
        types = tuple(self.cfg.types)
        new = {"content": pending, "size_bytes": batch.column("size_bytes").to_pylist(),
               "content_sha256": batch.column("content_sha256").to_pylist(),
               **{c: [None] * batch.num_rows for c in COLUMN_OF.values()}}
        had_facts = _facts_taken_from_content(batch)
        grammars = batch.column("quality_grammar").to_pylist() if "quality_grammar" in batch.schema.names \
            else [None] * batch.num_rows
        refreshed: dict[int, dict] = {}
        for i, (text, found) in enumerate(scrub_array(texts, types, self.cfg.min_secret_entropy)):
            if done is not None and done[i]:
                text, found = ahead[pending[i]]
            if found is None:
                continue
            for t in types:
                new[COLUMN_OF[t]][i] = found[t]
            if any(found.values()):
                data = text.encode("utf-8")
                new["content"][i], new["size_bytes"][i], new["content_sha256"][i] = \
                    text, len(data), hashlib.sha256(data).hexdigest()
                if had_facts[i] and (taken := facts_of(text, batch.column("language")[i].as_py(), self.budget_ms,
                                                       grammars[i])) is not None:
                    refreshed[i] = taken
        arrays = [pa.array(new[f.name], f.type) if f.name in new else batch.column(f.name) for f in schema]
        out = pa.RecordBatch.from_arrays(arrays, schema=schema)
        return _with_facts(out, refreshed) if refreshed else out


def _facts_taken_from_content(batch: pa.RecordBatch) -> list[bool]:
    """Per row: it carries facts of the content it holds (a table without the facts columns has none)."""
    if batch.schema.get_field_index("facts_sha256") < 0:
        return [False] * batch.num_rows
    same = pc.equal(batch.column("facts_sha256"), batch.column("content_sha256"))
    return pc.fill_null(same, False).to_pylist()


def _with_facts(batch: pa.RecordBatch, refreshed: dict[int, dict]) -> pa.RecordBatch:
    """`batch` with the facts columns of the rows in `refreshed` replaced (the others' values are not copied
    through Python: the new values are appended and every row is taken from old or new)."""
    rows = sorted(refreshed)
    take = list(range(batch.num_rows))
    for k, i in enumerate(rows):
        take[i] = batch.num_rows + k
    take = pa.array(take, pa.int64())
    for name in FACT_COLUMNS:
        index = batch.schema.get_field_index(name)
        field = batch.schema.field(index)
        added = pa.array([refreshed[i][name] for i in rows], field.type)
        batch = batch.set_column(index, field, pa.concat_arrays([batch.column(index), added]).take(take))
    return batch
