"""Fill-in-the-middle: which documents, which order (PSM or SPM) and where the cuts fall, all drawn from the id."""
from __future__ import annotations

from typing import NamedTuple

from pipeline.tokenizer.sample import draw


class Fim(NamedTuple):
    order: str    # "psm" or "spm"
    prefix: str
    middle: str
    suffix: str


def split(text: str, doc_id: str, seed: int, rate: float, spm_share: float) -> Fim | None:
    """The FIM pieces of a document, or None when it stays plain text. Cuts fall on characters (as in Bavarian
    et al. 2022), so a cut never splits a UTF-8 sequence; the draws depend only on (seed, id)."""
    if rate <= 0.0 or len(text) < 2 or draw(f"fim:{doc_id}", seed) >= rate:
        return None
    order = "spm" if draw(f"fim-order:{doc_id}", seed) < spm_share else "psm"
    a = int(draw(f"fim-cut-a:{doc_id}", seed) * (len(text) + 1))
    b = int(draw(f"fim-cut-b:{doc_id}", seed) * (len(text) + 1))
    lo, hi = min(a, b), max(a, b)
    return Fim(order, text[:lo], text[lo:hi], text[hi:])


def layout(fim: Fim, prefix_id: int, middle_id: int, suffix_id: int, encode) -> list:
    """Id arrays in training order (StarCoder's convention):
    psm: <fim_prefix> prefix <fim_suffix> suffix <fim_middle> middle
    spm: <fim_prefix> <fim_suffix> suffix <fim_middle> prefix middle
    Each piece is encoded on its own, so the model sees piece boundaries as it will at inference."""
    if fim.order == "psm":
        return [[prefix_id], encode(fim.prefix), [suffix_id], encode(fim.suffix), [middle_id], encode(fim.middle)]
    return [[prefix_id, suffix_id], encode(fim.suffix), [middle_id], encode(fim.prefix), encode(fim.middle)]
