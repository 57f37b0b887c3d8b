"""Decontamination matcher: HumanEval items planted in real standard-library files are found, near misses are not."""
from __future__ import annotations

import gzip
import json
import re
import sysconfig
from pathlib import Path

import pytest

from pipeline.config import DecontamConfig
from pipeline.decontam import benchmarks
from pipeline.decontam.matcher import matcher

STDLIB = Path(sysconfig.get_paths()["stdlib"])
HOSTS = ("textwrap.py", "heapq.py", "bisect.py", "fnmatch.py", "colorsys.py", "shlex.py")


@pytest.fixture(scope="module")
def humaneval():
    return {r.task_id: r for r in benchmarks.load_records(("humaneval",), ())}


@pytest.fixture(scope="module")
def find():
    return matcher(DecontamConfig()).contamination


def host(name: str) -> str:
    return (STDLIB / name).read_text(encoding="utf-8")


def plant(text: str, snippet: str) -> str:
    """`snippet` inserted at a line break near the middle of `text`."""
    cut = text.index("\n", len(text) // 2) + 1
    return text[:cut] + "\n\n" + snippet + "\n\n" + text[cut:]


def new_docstring(prompt: str) -> str:
    return re.sub(r'("""|\'\'\')[\s\S]*?\1', '"""Rewritten by someone else, in other words entirely."""', prompt)


def reformat(code: str) -> str:
    """Other whitespace everywhere: tabs for indentation, no spaces after commas, spaces inside brackets."""
    code = re.sub(r"(?m)^((?:    )+)", lambda m: "\t" * (len(m.group(1)) // 4), code)
    return code.replace(", ", ",").replace("(", "( ").replace(")", " )").replace("\n", "\n\n")


def test_humaneval_loads_from_the_wheel(humaneval):
    assert len(humaneval) == 164
    assert humaneval["HumanEval/0"].prompt.startswith("from typing import List")


def test_normalisation_ignores_whitespace_quotes_and_comment_markers():
    assert benchmarks.normalise("x  =\t f( a,b )  # note") == benchmarks.normalise("x = f(a, b) note")
    assert benchmarks.normalise("s = 'a'") == benchmarks.normalise('s = "a"')
    assert benchmarks.normalise('    """Doc."""\n') == benchmarks.normalise("# Doc.")
    assert benchmarks.normalise('"a\\n    b"') == benchmarks.normalise("a\n b")


@pytest.mark.parametrize("task, hostname", [("HumanEval/0", "textwrap.py"), ("HumanEval/12", "heapq.py"),
                                            ("HumanEval/55", "bisect.py"), ("HumanEval/129", "shlex.py")])
def test_planted_verbatim_and_reformatted(find, humaneval, task, hostname):
    rec = humaneval[task]
    original = host(hostname)
    assert find(original) is None
    for snippet in (rec.prompt + rec.canonical_solution, reformat(rec.prompt + rec.canonical_solution)):
        found = find(plant(original, snippet))
        assert found is not None and found.task_id == task and found.kind == "substring"


@pytest.mark.parametrize("task", ["HumanEval/7", "HumanEval/22", "HumanEval/38", "HumanEval/158"])
def test_docstring_changed_code_same_found_by_ngrams(find, humaneval, task):
    rec = humaneval[task]
    found = find(plant(host("fnmatch.py"), new_docstring(rec.prompt) + rec.canonical_solution))
    assert found is not None and (found.task_id, found.kind) == (task, "ngram") and found.score == 1.0


def test_docstring_changed_long_solution_found_verbatim(find, humaneval):
    rec = humaneval["HumanEval/0"]
    found = find(plant(host("colorsys.py"), new_docstring(rec.prompt) + reformat(rec.canonical_solution)))
    assert (found.task_id, found.kind) == ("HumanEval/0", "substring")


def test_small_edits_and_new_docstring_still_found(find, humaneval):
    rec = humaneval["HumanEval/0"]
    edited = (new_docstring(rec.prompt) + rec.canonical_solution).replace("abs(elem - elem2)", "abs(elem2 - elem)")
    found = find(plant(host("colorsys.py"), edited))
    assert (found.task_id, found.kind) == ("HumanEval/0", "ngram") and 0.5 <= found.score < 1.0


def test_same_function_name_only_kept(find):
    text = plant(host("textwrap.py"), "def has_close_elements(points, eps):\n    return any(abs(p - q) < eps"
                                      " for p in points for q in points if p is not q)\n")
    assert find(text) is None


def test_short_common_snippet_kept(find):
    assert find(plant(host("heapq.py"), "def f(l):\n    return sorted(l)\n")) is None
    assert find("def unique(l: list):\n    return sorted(list(set(l)))\n") is None  # HumanEval/34 without its prompt


def test_similar_but_different_algorithm_kept(find):
    # HumanEval/0's signature and imports, another algorithm (sort, then compare neighbours)
    text = '''from typing import List


def has_close_elements(numbers: List[float], threshold: float) -> bool:
    ordered = sorted(numbers)
    for a, b in zip(ordered, ordered[1:]):
        if b - a < threshold:
            return True
    return False
'''
    assert find(plant(host("bisect.py"), text)) is None


def test_stdlib_files_are_clean(find):
    for name in HOSTS + ("string.py", "random.py", "statistics.py", "functools.py"):
        assert find(host(name)) is None, name


def write_jsonl(path: Path, rows: list[dict], gz: bool = False) -> str:
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return str(path)


CUSTOM = {"task_id": "Custom/1", "prompt": "def rotate_grid(grid):\n    \"\"\"Rotate a square grid clockwise.\"\"\"\n",
          "canonical_solution": "    size = len(grid)\n    return [[grid[size - 1 - r][c] for r in range(size)]"
                                " for c in range(size)]\n"}


@pytest.mark.parametrize("gz", [False, True])
def test_extra_files_custom_benchmark(tmp_path, gz):
    path = write_jsonl(tmp_path / ("bench.jsonl.gz" if gz else "bench.jsonl"), [CUSTOM], gz)
    find = matcher(DecontamConfig(benchmarks=[], extra_files=[path])).contamination
    found = find(plant(host("heapq.py"), CUSTOM["prompt"] + CUSTOM["canonical_solution"]))
    assert (found.task_id, found.kind) == ("Custom/1", "substring")
    assert find(host("heapq.py")) is None


def test_bad_extra_files_raise_clear_errors(tmp_path):
    bad = dict(CUSTOM)
    del bad["canonical_solution"]
    path = write_jsonl(tmp_path / "bad.jsonl", [CUSTOM, bad])
    with pytest.raises(ValueError, match=r"bad.jsonl:2: field 'canonical_solution' is missing"):
        matcher(DecontamConfig(extra_files=[path]))
    (tmp_path / "broken.jsonl").write_text("{not json\n")
    with pytest.raises(ValueError, match=r"broken.jsonl:1: not JSON"):
        matcher(DecontamConfig(extra_files=[str(tmp_path / "broken.jsonl")]))
    with pytest.raises(ValueError, match=r"decontam.extra_files: '.*missing.jsonl' is not a file"):
        matcher(DecontamConfig(extra_files=[str(tmp_path / "missing.jsonl")]))


def test_code_grams_never_span_a_removed_docstring():
    with_doc = 'def f(a, b, c):\n    """Words."""\n    return a + b + c + a * b * c\n'
    without = "def f(a, b, c):\n    return a + b + c + a * b * c\n"
    assert benchmarks.code_grams(with_doc, 5) <= benchmarks.code_grams(without, 5)


SIGNATURE_ONLY = {  # the near misses: a HumanEval signature (and its docstring) with another body
    "HumanEval/7": "    out = []\n    for s in strings:\n        if s.find(substring) != -1:\n"
                   "            out.append(s)\n"
                   "    return out\n",
    "HumanEval/29": "    kept = list()\n    for word in strings:\n        if word[:len(prefix)] == prefix:\n"
                    "            kept.append(word)\n    return kept\n",
}


@pytest.mark.parametrize("task", sorted(SIGNATURE_ONLY))
def test_signature_with_another_body_kept(find, humaneval, task):
    rec = humaneval[task]
    for prompt in (rec.prompt, new_docstring(rec.prompt)):
        assert find(plant(host("heapq.py"), prompt + SIGNATURE_ONLY[task])) is None


@pytest.mark.parametrize("task", ["HumanEval/7", "HumanEval/29", "HumanEval/38", "HumanEval/23"])
def test_signature_with_canonical_body_removed(find, humaneval, task):
    rec = humaneval[task]
    found = find(plant(host("heapq.py"), rec.prompt + rec.canonical_solution))
    assert found is not None and found.task_id == task


@pytest.mark.parametrize("task", ["HumanEval/7", "HumanEval/29", "HumanEval/38"])
def test_signature_with_canonical_body_and_new_docstring_removed(find, humaneval, task):
    rec = humaneval[task]
    found = find(plant(host("heapq.py"), new_docstring(rec.prompt) + rec.canonical_solution))
    assert found is not None and (found.task_id, found.kind) == (task, "ngram")


@pytest.mark.parametrize("task", ["HumanEval/7", "HumanEval/29", "HumanEval/100"])
def test_copied_tests_removed(find, humaneval, task):
    rec = humaneval[task]
    as_written = find(plant(host("bisect.py"), rec.test))
    calling = find(plant(host("bisect.py"), re.sub(r"\bcandidate\b", rec.entry_point, rec.test)))
    for found in (as_written, calling):
        assert found is not None and (found.task_id, found.kind) == (task, "test") and found.score == 1.0


def test_humaneval_test_boilerplate_alone_kept(find):
    text = "METADATA = {\n    'author': 'jt',\n    'dataset': 'test'\n}\n\n\ndef check(candidate):\n" \
           "    assert candidate(3, 4) == 7\n    assert candidate(0, 0) == 0\n"
    assert find(plant(host("bisect.py"), text)) is None
