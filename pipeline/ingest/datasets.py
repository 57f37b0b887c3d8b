"""Dataset inputs shaped like The Stack (JSONL or Parquet rows with content and path) to raw records."""
from __future__ import annotations

import hashlib
import json
import posixpath
from typing import Iterator

import pyarrow as pa

from pipeline import reasons
from pipeline.config import DatasetFields
from pipeline.ingest.records import RawRecord


def _record_name(file_path: str, raw: str) -> str:
    """A stable stand-in path for a record that has none: `<dataset file>#<hash of the record>`."""
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{posixpath.basename(file_path)}#{digest}"


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def from_fields(source: str, values: dict, fields: DatasetFields, file_path: str, raw: str | None = None) -> RawRecord:
    """One record from a dict of column values; missing or mistyped fields become reject reasons."""
    content, path = values.get(fields.content), values.get(fields.path)
    repo = values.get(fields.repo) if fields.repo else None
    language = values.get(fields.language) if fields.language else None
    if not isinstance(path, str) or not path:
        where = _record_name(file_path, raw if raw is not None else json.dumps(values, sort_keys=True, default=str))
        return RawRecord(source, None, where, None, reject_reason=reasons.MISSING_FIELD,
                         reject_detail=f"no string field '{fields.path}' (ingest.dataset.path)")
    if not _encodable(path):  # a JSON "\ud800" escape: a lone surrogate no Arrow column can hold
        return RawRecord(source, None, path.encode("utf-8", "backslashreplace").decode("utf-8"), None,
                         reject_reason=reasons.UNDECODABLE_PATH, reject_detail="path holds an unpaired surrogate")
    if not all(_encodable(v) for v in (repo, language) if isinstance(v, str)):
        return RawRecord(source, None, path, None, reject_reason=reasons.BAD_RECORD,
                         reject_detail=f"field '{fields.repo}' or '{fields.language}' holds an unpaired surrogate")
    if not isinstance(content, str):
        return RawRecord(source, None, path, None, reject_reason=reasons.MISSING_FIELD,
                         reject_detail=f"no string field '{fields.content}' (ingest.dataset.content)")
    return RawRecord(source, repo if isinstance(repo, str) else source, path, content,
                     language=language if isinstance(language, str) and language else None)


def from_jsonl(source: str, lines: pa.Array, files: pa.Array, fields: DatasetFields) -> Iterator[RawRecord]:
    """Records from JSON lines (`lines`) read out of dataset files (`files`, one name per line)."""
    for raw, file_path in zip(lines.to_pylist(), files.to_pylist()):
        if raw is None or not raw.strip():
            continue  # blank lines are not records
        try:
            values = json.loads(raw)
        except (ValueError, RecursionError) as e:  # RecursionError: nesting deeper than the parser's stack
            yield RawRecord(source, None, _record_name(file_path, raw), None, len(raw.encode("utf-8", "replace")),
                            reject_reason=reasons.BAD_RECORD, reject_detail=f"invalid JSON: {e}")
            continue
        if not isinstance(values, dict):
            yield RawRecord(source, None, _record_name(file_path, raw), None,
                            reject_reason=reasons.BAD_RECORD, reject_detail=f"a JSON {type(values).__name__}, "
                                                                            "not an object")
            continue
        yield from_fields(source, values, fields, file_path, raw)


def from_table(source: str, batch: pa.RecordBatch, files: pa.Array, fields: DatasetFields) -> Iterator[RawRecord]:
    """Records from Parquet rows already split into columns."""
    for values, file_path in zip(batch.to_pylist(), files.to_pylist()):
        yield from_fields(source, values, fields, file_path)
