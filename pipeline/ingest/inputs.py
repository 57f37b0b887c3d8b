"""Inputs named on the command line or in config, resolved on the driver into typed sources before any job runs."""
from __future__ import annotations

import os
import re
from typing import NamedTuple

from common.typed_config import ConfigError
from pipeline.ingest.archives import archive_stem, is_archive
from pipeline.ingest.fsio import arrow_fs, is_local, local_path, to_uri

KINDS = ("tree", "archive", "jsonl", "parquet", "file")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".jsonl.bz2")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class Source(NamedTuple):
    name: str
    uri: str   # local absolute path or remote URI
    kind: str  # one of KINDS


def _split_name(text: str) -> tuple[str | None, str]:
    """`name=path` -> (name, path); a path that exists as written is never split."""
    if "=" in text and not os.path.exists(text):
        name, path = text.split("=", 1)
        if _NAME.match(name):
            return name, path
    return None, text


def _kind_of(uri: str, is_dir: bool, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    low = uri.lower().rstrip("/")
    if low.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if low.endswith(".parquet"):
        return "parquet"
    if is_dir:
        return "tree"
    return "archive" if is_archive(low) else "file"


def _default_name(uri: str) -> str:
    base = uri.rstrip("/").rsplit("/", 1)[-1] or "input"
    for suffix in JSONL_SUFFIXES + (".parquet",):
        if base.lower().endswith(suffix):
            return base[: -len(suffix)]
    return archive_stem(base)


def resolve(inputs: list[str], fmt: str) -> list[Source]:
    """Check every input exists and decide how it is read; names must be unique (they key the ids)."""
    sources: list[Source] = []
    for text in inputs:
        name, where = _split_name(text)
        if is_local(where):
            path = local_path(where)
            if not os.path.lexists(path):
                raise ConfigError(f"input not found: {where}")
            is_dir, uri = os.path.isdir(path), path
        else:
            from pyarrow import fs as pafs

            filesystem, inner = arrow_fs(where)
            info = filesystem.get_file_info(inner)
            if info.type == pafs.FileType.NotFound:
                raise ConfigError(f"input not found: {where}")
            is_dir, uri = info.type == pafs.FileType.Directory, where
        kind = _kind_of(uri, is_dir, fmt)
        if kind == "tree" and not is_dir:
            raise ConfigError(f"input {where} is a file, but ingest.format=tree needs a folder")
        sources.append(Source(name or _default_name(uri), uri, kind))
    names = [s.name for s in sources]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"two inputs share the source name {dupes[0]!r}: name them, as name=path")
    return sources


def spark_uri(source: Source) -> str:
    """The URI Spark readers take for this source."""
    return to_uri(source.uri)
