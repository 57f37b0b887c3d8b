"""JSON-lines reading with errors that name the file and line: (line number, object) for each non-blank line."""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator


def json_objects(lines: Iterable[str], where: str, error: type[Exception] = ValueError) -> Iterator[tuple[int, dict]]:
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise error(f"{where}:{n}: not JSON ({e.msg})") from None
        if not isinstance(row, dict):
            raise error(f"{where}:{n}: a row must be a JSON object")
        yield n, row
