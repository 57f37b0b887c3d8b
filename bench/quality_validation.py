"""The quality stage against independent references on real code, and its cost against a bare parse.

1. syntax_ok vs CPython's own compile() on real Python files and deliberately broken copies (goal >= 99%).
2. Cyclomatic complexity per function vs lizard on real Python, Java, C and JavaScript (goal: Spearman >= 0.9).
3. Scoring throughput (analyze + score) vs a bare tree-sitter parse of the same files, MB/s on one core
   (goal: scoring costs at most 2x the bare parse), side by side per language.
Inputs: a folder of real code (default: the make_corpus.sh corpus) and the standard library.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import sysconfig
import time
import warnings
from collections import defaultdict

import numpy as np

from pipeline.config import QualityConfig
from pipeline.ingest.language import from_path
from pipeline.quality import grammars
from pipeline.quality.analyze import analyze, function_complexities
from pipeline.quality.score import DEFAULT_WEIGHTS, composite
from pipeline.quality.specs import SPECS

LIZARD_LANGS = {"Python": ".py", "Java": ".java", "C": ".c", "JavaScript": ".js"}


def collect(roots: list[str], languages: set[str], max_bytes: int = 500_000) -> dict[str, list[tuple[str, str]]]:
    """language -> [(path, text)] for UTF-8 files under the roots, in a stable order."""
    found = defaultdict(list)
    for root in roots:
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in (".git", "site-packages", "__pycache__"))
            for name in sorted(names):
                path = os.path.join(folder, name)
                lang = from_path(name)
                if lang not in languages or os.path.islink(path) or os.path.getsize(path) > max_bytes:
                    continue
                try:
                    with open(path, encoding="utf-8") as f:
                        found[lang].append((path, f.read()))
                except (UnicodeDecodeError, OSError):
                    continue
    return found


def compiles(text: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(text, "<file>", "exec", dont_inherit=True)
            return True
        except (SyntaxError, ValueError):
            return False


MUTATIONS = ("drop a closing bracket", "drop a block colon", "add a stray token", "cut the file", "shift a line")


def break_code(text: str, rng: random.Random) -> tuple[str, str]:
    """(mutation, copy with one typical mistake). Each mutation applies to a line where it changes the code."""
    lines = text.split("\n")
    code = [i for i, line in enumerate(lines) if line.strip() and not line.strip().startswith(("#", "@"))]
    brackets = [i for i in code if any(c in lines[i] for c in ")]}")]
    colons = [i for i in code if lines[i].rstrip().endswith(":")]
    kind = rng.randrange(len(MUTATIONS))
    if kind == 0 and brackets:
        i = rng.choice(brackets)
        pos = max(lines[i].rfind(c) for c in ")]}")
        lines[i] = lines[i][:pos] + lines[i][pos + 1:]
    elif kind == 1 and colons:
        i = rng.choice(colons)
        lines[i] = lines[i].rstrip()[:-1]
    elif kind == 3 or not code:
        return MUTATIONS[3], text[: rng.randrange(max(1, len(text)))] + "\ndef ("
    elif kind == 4:
        i = rng.choice(code)
        lines[i] = "  " + lines[i]
    else:
        kind = 2
        i = rng.choice(code)
        lines[i] = lines[i] + " = = 1"
    return MUTATIONS[kind], "\n".join(lines)


def syntax_agreement(files: list[tuple[str, str]], seed: int) -> None:
    rng = random.Random(seed)
    table = defaultdict(int)
    by_kind = defaultdict(lambda: [0, 0])
    for _, text in files:
        kind, broken = break_code(text, rng)
        for label, sample in (("real file", text), (kind, broken)):
            agree = compiles(sample) == analyze(sample, "Python", 5000)["syntax_ok"]
            table[(compiles(sample), agree)] += 1
            by_kind[label][0] += agree
            by_kind[label][1] += 1
    n = sum(table.values())
    agree = sum(v for (_, a), v in table.items() if a)
    print(f"\n1. syntax_ok vs compile(): {n:,} Python files ({len(files):,} real + one broken copy of each)")
    print(f"   agreement {agree / n:.4f}  (goal >= 0.99)")
    for label, (ok, total) in sorted(by_kind.items()):
        print(f"   {label:<24} {ok:>6,}/{total:<6,} {ok / total:.4f}")


def spearman(a: list[float], b: list[float]) -> float:
    def ranks(x):
        x = np.asarray(x, dtype=float)
        order = x.argsort(kind="mergesort")
        r = np.empty(len(x))
        r[order] = np.arange(len(x))
        for v in np.unique(x):  # average ranks for ties
            mask = x == v
            r[mask] = r[mask].mean()
        return r
    ra, rb = ranks(a), ranks(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def complexity_agreement(found: dict[str, list[tuple[str, str]]], max_files: int) -> None:
    import lizard

    print("\n2. cyclomatic complexity per function vs lizard (functions matched by name and line)")
    print(f"   {'language':<12} {'functions':>9} {'Spearman':>9} {'exact':>7}  (goal Spearman >= 0.9)")
    for lang, ext in LIZARD_LANGS.items():
        ours_all, theirs_all = [], []
        for path, text in found.get(lang, [])[:max_files]:
            try:
                theirs = lizard.analyze_file.analyze_source_code("x" + ext, text).function_list
                ours = function_complexities(text, lang)
            except Exception:  # noqa: BLE001 - a reference that cannot read a file is skipped, not scored
                continue
            by_name = defaultdict(list)
            for name, start, end, cc in ours:
                by_name[name].append((start, end, cc))
            for f in theirs:
                short = f.name.split("::")[-1].split(".")[-1]
                cands = [o for o in by_name.get(short, []) if o[0] <= f.start_line <= o[1]]
                if cands:
                    ours_all.append(min(cands, key=lambda o: f.start_line - o[0])[2])
                    theirs_all.append(f.cyclomatic_complexity)
        if len(ours_all) > 2:
            exact = np.mean(np.array(ours_all) == np.array(theirs_all))
            print(f"   {lang:<12} {len(ours_all):>9,} {spearman(ours_all, theirs_all):>9.3f} {exact:>7.2%}")


def bare_parse_seconds(lang: str, files: list[bytes]) -> float:
    """Seconds one core takes to parse `files` with the language's tree-sitter grammar and nothing else."""
    parser = grammars.parser(SPECS[lang].grammar)
    t0 = time.perf_counter()
    for f in files:
        parser.parse(f)
    return time.perf_counter() - t0


def throughput(found: dict[str, list[tuple[str, str]]], repeats: int) -> None:
    print("\n3. scoring vs bare tree-sitter parse, one core, same files (median of runs)")
    print(f"   {'language':<12} {'MB':>6} {'parse MB/s':>11} {'score MB/s':>11} {'cost ratio':>11}  (goal <= 2.0)")
    tot_mb, tot_parse, tot_score = 0.0, 0.0, 0.0
    tolerance = QualityConfig().error_ratio_by_language
    for lang in sorted(found):
        files = [t.encode("utf-8") for _, t in found[lang]]
        texts = [t for _, t in found[lang]]
        mb = sum(map(len, files)) / 1e6
        parse_t, score_t = [], []
        for _ in range(repeats):
            parse_t.append(bare_parse_seconds(lang, files))
            t0 = time.perf_counter()
            for t in texts:
                m = analyze(t, lang, 5000, tolerance.get(lang, 0.0))
                m["avg_line_len"] = 40.0
                composite(m, DEFAULT_WEIGHTS)
            score_t.append(time.perf_counter() - t0)
        p, s = float(np.median(parse_t)), float(np.median(score_t))
        tot_mb, tot_parse, tot_score = tot_mb + mb, tot_parse + p, tot_score + s
        print(f"   {lang:<12} {mb:>6.1f} {mb / p:>11.1f} {mb / s:>11.1f} {s / p:>11.2f}")
    print(f"   {'all':<12} {tot_mb:>6.1f} {tot_mb / tot_parse:>11.1f} {tot_mb / tot_score:>11.1f} "
          f"{tot_score / tot_parse:>11.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", action="append", help="folders of real code (default: /tmp/corpora/real + stdlib)")
    ap.add_argument("--max-files", type=int, default=400, help="files per language for parts 2 and 3")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--parts", default="1,2,3", help="which of the three checks to run")
    args = ap.parse_args()
    roots = args.corpus or ["/tmp/corpora/real", sysconfig.get_paths()["stdlib"]]
    roots = [r for r in roots if os.path.isdir(r)]
    if not roots:
        print("no corpus: PROFILE=small PARTS=code bash ../shared/corpus/make_corpus.sh", file=sys.stderr)
        return 1
    print(f"inputs: {', '.join(roots)}")
    found = collect(roots, set(SPECS) - {"TSX"})
    parts = set(args.parts.split(","))
    if "1" in parts:
        syntax_agreement(found.get("Python", []), args.seed)
    if "2" in parts:
        complexity_agreement(found, args.max_files)
    if "3" in parts:
        throughput({lang: files[:args.max_files] for lang, files in found.items()}, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
