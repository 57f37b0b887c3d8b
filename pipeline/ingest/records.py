"""Raw records (bytes or text found by a reader) to rows of the files table, with a reject reason where due."""
from __future__ import annotations

import hashlib
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest import language as lang
from pipeline.ingest.admit import Verdict, check_language
from pipeline.ingest.decode import Decoded, decode, finish_text
from pipeline.metrics import text_metrics
from schemas import FILES, with_reject_columns

INGEST_SCHEMA = with_reject_columns(FILES)


class RawRecord(NamedTuple):
    source: str
    repo: str | None
    path: str
    data: bytes | str | None  # bytes from files and archives, str from datasets, None when not read
    size_bytes: int | None = None
    language: str | None = None
    reject_reason: str | None = None
    reject_detail: str | None = None


def stable_id(source: str, repo: str | None, path: str, content_sha256: str | None) -> str:
    """128-bit hex id from where a file was found and what it holds; the same on every run and machine."""
    key = f"{source}\x00{repo or ''}\x00{path}\x00{content_sha256 or ''}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(key, digest_size=16).hexdigest()


def _language(rec: RawRecord, allowed: frozenset[str]) -> Verdict:
    """The record's language, from its `#!` line when its name says nothing, checked against the allow-list."""
    found = rec.language or lang.from_path(rec.path)
    if found is None and rec.data is not None:
        head = rec.data[:256] if isinstance(rec.data, bytes) else rec.data[:256].encode("utf-8", "replace")
        found = lang.from_shebang(head)
    return check_language(found, rec.path, allowed)


def to_files_batch(records: list[RawRecord], languages: frozenset[str] = frozenset()) -> pa.RecordBatch:
    """Decode, detect language, measure and hash `records`; one output row per record, in order."""
    cols: dict[str, list] = {f.name: [] for f in INGEST_SCHEMA}
    texts: list[str | None] = []
    for rec in records:
        reason, detail = rec.reject_reason, rec.reject_detail
        language = rec.language
        decoded = Decoded(None, None, None, None)
        if reason is None:
            language, reason, detail = _language(rec, languages)
        if reason is None:
            decoded = finish_text(rec.data, "utf-8") if isinstance(rec.data, str) else decode(rec.data or b"")
            reason, detail = decoded.reason, decoded.detail
        text = decoded.text if reason is None else None
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest() if text is not None else None
        raw_size = rec.size_bytes if rec.size_bytes is not None else (
            len(rec.data) if isinstance(rec.data, bytes) else None)
        cols["id"].append(stable_id(rec.source, rec.repo, rec.path, sha))
        cols["source"].append(rec.source)
        cols["repo"].append(rec.repo)
        cols["path"].append(rec.path)
        cols["language"].append(language)
        cols["content_sha256"].append(sha)
        cols["encoding"].append(decoded.encoding)
        cols["reject_reason"].append(reason)
        cols["reject_detail"].append(detail)
        cols["size_bytes"].append(raw_size)
        texts.append(text)
    content = pa.array(texts, type=pa.string())
    measured = text_metrics(content)
    arrays = []
    for f in INGEST_SCHEMA:
        if f.name == "content":
            arrays.append(content)
        elif f.name == "size_bytes":  # UTF-8 size when decoded, raw size otherwise
            arrays.append(pc.coalesce(measured["size_bytes"], pa.array(cols["size_bytes"], pa.int64())))
        elif f.name in measured:
            arrays.append(measured[f.name].cast(f.type))
        else:
            arrays.append(pa.array(cols[f.name], type=f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=INGEST_SCHEMA)
