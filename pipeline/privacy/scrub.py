"""Replacing detected personal data and secrets by <TYPE> placeholders, with overlapping spans merged.

A batch is first screened in C++ (RE2 via pyarrow.compute) with each detector's hint pattern; only the detectors
whose hint matched a row run on it in Python, so code without secrets costs little more than one regex pass.
"""
from __future__ import annotations

from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.privacy.detectors import (
    EMAIL,
    HINTS,
    IP_ADDRESS,
    KEY,
    PASSWORD,
    PRIVATE_KEY,
    TYPES,
    Span,
    detect,
    detectors_for,
)

PLACEHOLDERS = {t: f"<{t}>" for t in TYPES}
_RANK = {t: i for i, t in enumerate((PRIVATE_KEY, KEY, PASSWORD, IP_ADDRESS, EMAIL))}  # equal lengths: first wins


def resolve(spans: Iterable[Span]) -> list[Span]:
    """Disjoint spans in text order. Overlapping spans become one: their union, typed by the longest (outermost)
    of them, so no part of any detected value survives (a key inside a PEM block goes with the block)."""
    out: list[Span] = []
    group: list[Span] = []
    group_end = -1
    for span in sorted(spans):
        if group and span.start < group_end:
            group.append(span)
            group_end = max(group_end, span.end)
            continue
        if group:
            out.append(_merge(group, group_end))
        group, group_end = [span], span.end
    if group:
        out.append(_merge(group, group_end))
    return out


def _merge(group: list[Span], end: int) -> Span:
    main = min(group, key=lambda s: (s.start - s.end, _RANK[s.type]))
    return Span(group[0].start, end, main.type)


def candidates(texts: pa.Array, detectors: Iterable[str]) -> list[frozenset[str]]:
    """Per row, the detectors whose hint pattern matches it (empty for null rows and rows with no hint)."""
    detectors = tuple(detectors)
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    rows: list[set[str]] = [set() for _ in range(len(texts))]
    if not detectors or not len(texts):
        return [frozenset()] * len(texts)
    any_hint = pc.fill_null(pc.match_substring_regex(texts, "|".join(f"(?:{HINTS[d]})" for d in detectors)), False)
    hit_rows = pc.indices_nonzero(any_hint)
    if len(hit_rows):
        subset = texts.take(hit_rows)
        row_ids = hit_rows.to_pylist()
        for name in detectors:
            matched = pc.fill_null(pc.match_substring_regex(subset, HINTS[name]), False)
            for i in pc.indices_nonzero(matched).to_pylist():
                rows[row_ids[i]].add(name)
    return [frozenset(r) for r in rows]


def replacements(text: str, types: Iterable[str] = TYPES, min_entropy: float = 3.0,
                 only: Iterable[str] | None = None) -> list[Span]:
    """The disjoint spans of `text` that scrub replaces, in text order (`only` as for scrub)."""
    if only is not None and not only:
        return []
    return resolve(detect(text, tuple(types), min_entropy, only))


def replaced(text: str, spans: list[Span], types: Iterable[str] = TYPES) -> tuple[str, dict[str, int]]:
    """(text with each span replaced by its type's placeholder, replacements per type of `types`); text without
    spans comes back as the same object."""
    counts = {t: 0 for t in types}
    if not spans:
        return text, counts
    parts, pos = [], 0
    for span in spans:
        parts += [text[pos:span.start], PLACEHOLDERS[span.type]]
        counts[span.type] += 1
        pos = span.end
    parts.append(text[pos:])
    return "".join(parts), counts


def scrub(text: str, types: Iterable[str] = TYPES, min_entropy: float = 3.0,
          only: Iterable[str] | None = None) -> tuple[str, dict[str, int]]:
    """(text with every detected span of `types` replaced by its placeholder, replacements per type).

    Text without findings comes back as the same object; counts hold every requested type (0 when none).
    `only`: the detectors whose hint matched (from `candidates`); None runs them all, each behind its own cheap
    literal check (screening one text with RE2 would cost more than it saves: pyarrow compiles per call)."""
    types = tuple(types)
    return replaced(text, replacements(text, types, min_entropy, only), types)


def scrub_array(texts: pa.Array, types: Iterable[str] = TYPES,
                min_entropy: float = 3.0) -> Iterator[tuple[str | None, dict[str, int] | None]]:
    """(new text, counts) per row of a string array, screened as one batch in C++; (None, None) for null rows."""
    types = tuple(types)
    flags = candidates(texts, detectors_for(types))
    for text, only in zip(texts.to_pylist(), flags):
        yield (None, None) if text is None else scrub(text, types, min_entropy, only)
