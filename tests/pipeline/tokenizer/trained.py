"""A small tokenizer trained once per test session on files Python ships (stdlib code, CJK test texts)."""
from __future__ import annotations

import functools
import sysconfig
from pathlib import Path

from pipeline.tokenizer.sample import draw, folder_files, in_sample, read_text

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SEED = 1
FRACTION = 0.04     # of the stdlib's .py files (about 1.5 MB) are trained on; the rest is held out
VOCAB = 3000


def stdlib_python() -> list[tuple[str, Path]]:
    return [(k, p) for k, p in folder_files(str(STDLIB)) if p.suffix == ".py" and not k.startswith("site-packages")]


def cjk_texts() -> list[tuple[str, str]]:
    """Chinese, Japanese and Korean UTF-8 texts from CPython's codec tests."""
    root = STDLIB / "test" / "cjkencodings"
    return [(p.name, t) for p in sorted(root.glob("*-utf8.txt")) if (t := read_text(p))]


def training_records() -> list[tuple[str, str]]:
    code = [(k, t) for k, p in stdlib_python() if in_sample(k, SEED, FRACTION) and (t := read_text(p))]
    return code + cjk_texts()


def held_out(max_bytes: int) -> list[tuple[str, str]]:
    """Stdlib .py files outside the training sample, in hash order, up to `max_bytes`."""
    out, size = [], 0
    files = sorted(stdlib_python(), key=lambda kp: draw(kp[0], SEED + 1))
    for key, path in files:
        if in_sample(key, SEED, FRACTION) or not (text := read_text(path)):
            continue
        out.append((key, text))
        size += len(text.encode())
        if size >= max_bytes:
            break
    return out


@functools.lru_cache(maxsize=1)
def trained_dir(root: str) -> str:
    """Train (once per session) and save into `root`; returns the folder."""
    from pipeline.tokenizer.save import save
    from pipeline.tokenizer.train import train

    tok, stats = train(training_records(), VOCAB)
    save(tok, root, stats, model_max_length=256)
    return root
