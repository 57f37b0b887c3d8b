"""The quality stage's syntax check against each language's own compiler or parser, on real files and broken copies.

For every grammar: real files (the make_corpus.sh corpus plus sources installed on this machine: the Python standard
library, /usr/include, Go and Ruby sources, npm, shell scripts in /usr/bin), each checked unmodified (kept only when
its compiler accepts it) and in three seeded breakages (syntax_breakage.py: a deleted line, a closing bracket dropped
mid-file, a truncated file). The compiler's verdict is the truth, not the breakage: a deleted line often leaves a
valid file. Our verdict is the stage's: rejected with reason syntax_error under the default config (C and C++
tolerate an error ratio of 0.02); the strict view (any error node) is printed beside it. Grammars with no compiler
here are scored only where the breakage is certain (a dropped bracket, a truncation inside an open bracket pair, and
the unmodified files, presumed valid because they ship in packages).
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import sysconfig
import tempfile
import time
from collections import Counter, defaultdict

from bench.syntax_breakage import KINDS, Variant, variants
from bench.syntax_oracles import oracles, syntax_class
from pipeline import reasons
from pipeline.config import QualityConfig
from pipeline.ingest.language import from_path
from pipeline.quality import grammars
from pipeline.quality.specs import SPECS
from pipeline.quality.stage import QualityScorer

LANGS = sorted(set(SPECS) - {"TSX"})  # TSX is TypeScript's fallback dialect, reached through TypeScript
# (language, folder, file name endings, folders to skip): installed sources beside the corpus
SYSTEM = [("Python", sysconfig.get_paths()["stdlib"], (".py",), ("site-packages", "test", "tests")),
          ("C", "/usr/include", (".h",), ("c++",)), ("C++", "/usr/include/c++", (".h", ".tcc"), ()),
          ("Go", "/usr/lib/go/src", (".go",), ("testdata",)), ("Ruby", "/usr/lib/ruby", (".rb",), ()),
          ("JavaScript", "/usr/lib/node_modules/npm", (".js",), ()), ("SQL", "/usr/share/postgresql", (".sql",), ())]


def _read(path: str, min_bytes: int, max_bytes: int) -> str | None:
    try:
        if os.path.islink(path) or not min_bytes <= os.path.getsize(path) <= max_bytes:
            return None
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (UnicodeDecodeError, OSError):
        return None


def prepare(lang: str, text: str) -> str:
    """SQL files shipped for psql hold meta-commands (`\\echo ... \\quit`) that are not SQL: both sides see them
    removed."""
    if lang != "SQL":
        return text
    return "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("\\"))


def collect(corpus: list[str], min_bytes: int, max_bytes: int) -> dict[str, list[str]]:
    """language -> candidate paths, sorted (then shuffled by seed in main)."""
    found = defaultdict(set)
    for root in corpus:
        for folder, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if d not in (".git", "testdata", "__pycache__")]
            for name in names:
                lang = from_path(name)
                if lang in SPECS:
                    found[lang].add(os.path.join(folder, name))
    for lang, root, ends, skip in SYSTEM:
        for folder, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if d not in skip]
            found[lang].update(os.path.join(folder, n) for n in names if n.endswith(ends))
    if os.path.isdir("/usr/bin"):  # shell scripts without an extension
        for name in os.listdir("/usr/bin"):
            path = os.path.join("/usr/bin", name)
            if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) <= max_bytes:
                with open(path, "rb") as f:
                    head = f.readline()
                if head.startswith(b"#!") and head.rstrip().endswith((b"/sh", b"/bash", b" sh", b" bash")):
                    found["Shell"].add(path)
    return {lang: sorted(p for p in paths if _read(p, min_bytes, max_bytes) is not None)
            for lang, paths in found.items()}


def ours(scorer: QualityScorer, text: str, lang: str) -> tuple[bool | None, bool, float]:
    """(stage rejects it as a syntax error, or None when the parse budget ran out; any error node; error ratio)."""
    m, reason, _ = scorer.score_one(text, lang, 40.0)
    if reason == reasons.PARSE_BUDGET_EXCEEDED:
        return None, False, 0.0
    return reason == reasons.SYNTAX_ERROR, not m["syntax_ok"], m["error_ratio"]


def write(tmp: str, i: int, kind: str, path: str, text: str) -> str:
    folder = os.path.join(tmp, f"{i}-{kind.replace(' ', '_')}")
    os.makedirs(folder, exist_ok=True)
    out = os.path.join(folder, os.path.basename(path))
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    return out


def accepted_files(lang: str, paths: list[str], judge, tmp: str, n: int) -> list[str]:
    """The first n candidates whose compiler accepts them unmodified, checked in chunks of n."""
    kept: list[str] = []
    for start in range(0, min(len(paths), 6 * n), n):
        chunk = paths[start:start + n]
        copies = [(write(tmp, start + j, "control", p, prepare(lang, _read(p, 0, 1 << 30))), os.path.dirname(p))
                  for j, p in enumerate(chunk)]
        kept += [p for p, (ok, _) in zip(chunk, judge(copies)) if ok]
        if len(kept) >= n:
            break
    return kept[:n]


def validate(lang: str, paths: list[str], judge, scorer, rng, tmp: str) -> list[dict]:
    """One row per (file, variant): compiler verdict (None without a compiler), ours, strict, and what changed."""
    rows, items = [], []
    for i, path in enumerate(paths):
        text = prepare(lang, _read(path, 0, 1 << 30))
        tree = grammars.parser(SPECS[lang].grammar).parse(text.encode("utf-8"))
        for v in variants(text, tree.root_node, rng):
            rows.append({"path": path, "variant": v})
            items.append((write(tmp, i, v.kind, path, v.text), os.path.dirname(path)))
    verdicts = judge(items) if judge else [(None, "")] * len(items)
    for row, (ok, msg) in zip(rows, verdicts):
        v: Variant = row["variant"]
        row["truth"] = (not ok) if ok is not None else v.surely_broken  # True: broken
        row["message"], row["syntax"] = msg, ok is None or ok or syntax_class(lang, msg)
        row["ours"], row["strict"], row["ratio"] = ours(scorer, v.text, lang)
    return rows


def confusion(rows: list[dict], key: str = "ours") -> Counter:
    c = Counter()
    for r in rows:
        if r["truth"] is None or r[key] is None:
            c["unscored" if r["truth"] is None else "budget"] += 1
        else:
            c[{(False, False): "both ok", (True, True): "both broken", (True, False): "we miss",
               (False, True): "false alarm"}[(r["truth"], r[key])]] += 1
    return c


def agreement(c: Counter) -> float | None:
    n = c["both ok"] + c["both broken"] + c["we miss"] + c["false alarm"]
    return (c["both ok"] + c["both broken"]) / n if n else None


def fmt(x: float | None) -> str:
    return "   -  " if x is None else f"{x:6.1%}"


def report(results: dict[str, tuple[str, int, list[dict]]], examples: int) -> None:
    head = f"{'language':<11} {'judge':<24} {'files':>5} " + " ".join(f"{k[:10]:>10}" for k in KINDS)
    print("\nagreement per breakage (stage verdict vs the judge; '-': nothing scored)")
    print(head)
    for lang, (judge, n, rows) in results.items():
        per = [fmt(agreement(confusion([r for r in rows if r["variant"].kind == k]))) for k in KINDS]
        print(f"{lang:<11} {judge:<24} {n:>5} " + " ".join(f"{p:>10}" for p in per))
    print("\nconfusion per language (all variants): truth = the judge's verdict")
    print(f"{'language':<11} {'both ok':>8} {'both bad':>8} {'we miss':>8} {'(later)':>8} {'f.alarm':>8} "
          f"{'unscored':>8} {'budget':>6} {'stage':>7} {'strict':>7}")
    total, total_strict = Counter(), Counter()
    for lang, (_, _, rows) in results.items():
        c, s = confusion(rows), confusion(rows, "strict")
        later = sum(1 for r in rows if r["truth"] and r["ours"] is False and not r["syntax"])
        total.update(c)
        total_strict.update(s)
        print(f"{lang:<11} {c['both ok']:>8} {c['both broken']:>8} {c['we miss']:>8} {later:>8} "
              f"{c['false alarm']:>8} {c['unscored']:>8} {c['budget']:>6} {fmt(agreement(c)):>7} "
              f"{fmt(agreement(s)):>7}")
    print(f"{'all':<11} {total['both ok']:>8} {total['both broken']:>8} {total['we miss']:>8} {'':>8} "
          f"{total['false alarm']:>8} {total['unscored']:>8} {total['budget']:>6} {fmt(agreement(total)):>7} "
          f"{fmt(agreement(total_strict)):>7}")
    print("(later): misses whose only compiler error is a name/type error (gcc/g++), not a syntax error")
    if examples:
        print(f"\ndisagreements (up to {examples} per language)")
        for lang, (_, _, rows) in results.items():
            bad = [r for r in rows if r["truth"] is not None and r["ours"] is not None and r["truth"] != r["ours"]]
            for r in bad[:examples]:
                side = "we miss" if r["truth"] else "false alarm"
                print(f"  {lang:<10} {side:<11} {r['variant'].where:<34} ratio={r['ratio']:.4f} "
                      f"{r['path'][-60:]}  {r['message'][:100]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", action="append", help="folders of real code (default: /tmp/corpora/real)")
    ap.add_argument("--per-language", type=int, default=20, help="files per language (each gives 4 variants)")
    ap.add_argument("--max-bytes", type=int, default=60_000)
    ap.add_argument("--languages", default=",".join(LANGS))
    ap.add_argument("--examples", type=int, default=4, help="disagreements listed per language")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    corpus = [r for r in (args.corpus or ["/tmp/corpora/real"]) if os.path.isdir(r)]
    print(f"inputs: {', '.join(corpus) or '(no corpus: installed sources only)'} + installed sources; "
          f"{args.per_language} files per language, seed {args.seed}")
    t0 = time.monotonic()
    found = collect(corpus, 200, args.max_bytes)
    judges = oracles()
    scorer = QualityScorer(QualityConfig())
    results = {}
    with tempfile.TemporaryDirectory(prefix="syntax-validation-") as tmp:
        for lang in args.languages.split(","):
            paths = found.get(lang, [])
            random.Random(f"{args.seed}-{lang}").shuffle(paths)
            name, judge = judges.get(lang, ("none here (certain breakages)", None))
            folder = os.path.join(tmp, lang)
            files = accepted_files(lang, paths, judge, folder, args.per_language) if judge \
                else paths[:args.per_language]
            if not files:
                print(f"{lang}: no real files here ({len(paths)} candidates), not validated")
                continue
            rows = validate(lang, files, judge, scorer, random.Random(f"{args.seed}-{lang}-m"), folder)
            results[lang] = (name, len(files), rows)
            print(f"{lang}: {len(files)} files, {len(rows)} variants, {time.monotonic() - t0:.0f}s", flush=True)
    report(results, args.examples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
