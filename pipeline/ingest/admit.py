"""What ingest decides about a file before reading it: a storable name, its language, whether it may be read."""
from __future__ import annotations

import os
from typing import NamedTuple

from pipeline import reasons
from pipeline.config import IngestConfig
from pipeline.ingest import language as lang


class Verdict(NamedTuple):
    language: str | None
    reason: str | None = None
    detail: str | None = None


def printable_name(name: str) -> tuple[str, bool]:
    """(a name an Arrow string can hold, was it valid UTF-8?): undecodable names arrive surrogate-escaped."""
    try:
        name.encode("utf-8")
        return name, True
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace"), False


def name_hint(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return f"extension '{name.rsplit('.', 1)[-1]}'" if "." in name.lstrip(".") else f"name '{name}'"


def check_language(language: str | None, path: str, allowed) -> Verdict:
    """Unknown languages and languages outside ingest.languages are rejected."""
    if language is None:
        return Verdict(None, reasons.UNKNOWN_LANGUAGE, f"no language known for {name_hint(path)}")
    if allowed and language not in allowed:
        return Verdict(language, reasons.LANGUAGE_NOT_SELECTED, f"{language} is not in ingest.languages")
    return Verdict(language)


def before_read(path: str, size: int | None, cfg: IngestConfig) -> Verdict:
    """The verdict from a file's name and size alone; files needing their `#!` line pass with no language."""
    language = lang.from_path(path)
    if language is not None or not lang.needs_shebang(path):
        verdict = check_language(language, path, cfg.languages)
        if verdict.reason:
            return verdict
    if size is not None and size > cfg.max_read_bytes:
        return Verdict(language, reasons.TOO_LARGE_TO_READ,
                       f"{size} bytes > ingest.max_read_bytes={cfg.max_read_bytes}")
    return Verdict(language)
