"""The trained BPE served by tiktoken (same ids, several times faster), built once per process from tokenizer.json."""
from __future__ import annotations

import functools
import json

import numpy as np

from pipeline.tokenizer.keywords import byte_to_char
from pipeline.tokenizer.save import TOKENIZER_JSON, read_file


class NotServable(ValueError):
    """tokenizer.json is not the shape tiktoken reproduces exactly (the caller falls back to `tokenizers`)."""


def _pattern(spec: dict) -> str:
    """The split pattern, if the tokenizer is exactly: no normalizer, Split(Regex, isolated) then ByteLevel
    without its own regex or prefix space, a BPE with no dropout, unk or subword affixes."""
    if spec.get("normalizer") is not None:
        raise NotServable("a normalizer changes the text before BPE")
    pre = spec.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else [pre]
    if len(steps) != 2 or steps[0].get("type") != "Split" or steps[1].get("type") != "ByteLevel":
        raise NotServable(f"pre-tokenizer is not Split then ByteLevel: {[s.get('type') for s in steps]}")
    split, byte_level = steps
    if split.get("behavior") != "Isolated" or split.get("invert") or "Regex" not in split.get("pattern", {}):
        raise NotServable("the Split step is not an isolated regex split")
    if byte_level.get("use_regex") or byte_level.get("add_prefix_space"):
        raise NotServable("ByteLevel adds its own regex or a prefix space")
    model = spec["model"]
    if model.get("type") != "BPE" or model.get("dropout") or model.get("continuing_subword_prefix") \
            or model.get("end_of_word_suffix"):
        raise NotServable("the model is not a plain byte-level BPE")
    return split["pattern"]["Regex"]


def encoding_from_json(text: str, name: str = "trained"):
    """(tiktoken.Encoding, {special token: id}): each vocabulary token's bytes ranked by its id."""
    import tiktoken

    spec = json.loads(text)
    pattern = _pattern(spec)
    to_byte = {c: b for b, c in byte_to_char().items()}
    special = {t["content"]: t["id"] for t in spec.get("added_tokens", []) if t.get("special")}
    ranks = {}
    for token, i in spec["model"]["vocab"].items():
        if token in special:
            continue
        try:
            ranks[bytes(to_byte[c] for c in token)] = i
        except KeyError as e:
            raise NotServable(f"vocabulary token {token!r} is not byte-level") from e
    n_vocab = max([*ranks.values(), *special.values()]) + 1
    if len(ranks) + len(special) != n_vocab:
        raise NotServable("token ids are not contiguous")
    return tiktoken.Encoding(name, pat_str=pattern, mergeable_ranks=ranks, special_tokens=special,
                             explicit_n_vocab=n_vocab), special


class FastEncoder:
    """encode(text) -> uint32 ids with special-token text encoded as plain text (as tokenizers does with
    encode_special_tokens=True); special ids by name. tiktoken when servable, else `tokenizers` (slower)."""

    def __init__(self, tokenizer_json: str):
        self.special: dict[str, int]
        try:
            self._enc, self.special = encoding_from_json(tokenizer_json)
            self.backend = "tiktoken"
        except NotServable as e:
            from tokenizers import Tokenizer

            self._tok = Tokenizer.from_str(tokenizer_json)
            self._tok.encode_special_tokens = True
            self.special = {t.content: i for i, t in self._tok.get_added_tokens_decoder().items() if t.special}
            self.backend = f"tokenizers ({e})"
            self._enc = None
        self.vocab_size = self._enc.n_vocab if self._enc is not None else self._tok.get_vocab_size()

    def encode(self, text: str) -> np.ndarray:
        try:
            return self._encode(text)
        except UnicodeEncodeError:  # lone surrogates (never in Arrow strings): U+FFFD, as tiktoken's encode does
            return self._encode(text.encode("utf-16", "surrogatepass").decode("utf-16", "replace"))

    def _encode(self, text: str) -> np.ndarray:
        if self._enc is not None:
            return self._enc.encode_to_numpy(text, allowed_special=set(), disallowed_special=())
        return np.asarray(self._tok.encode(text, add_special_tokens=False).ids, dtype=np.uint32)

    def decode(self, ids) -> str:
        if self._enc is not None:
            return self._enc.decode([int(i) for i in ids])
        return self._tok.decode([int(i) for i in ids], skip_special_tokens=False)


@functools.lru_cache(maxsize=4)
def load(tokenizer_dir: str, sha256: str | None = None) -> FastEncoder:
    """The encoder for a tokenizer folder, once per process (per worker); checks the file's sha256 when given."""
    import hashlib

    data = read_file(tokenizer_dir)
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"{tokenizer_dir}/{TOKENIZER_JSON} changed: its sha256 is not the {sha256[:12]}... "
                         "the job was started with")
    return FastEncoder(data.decode("utf-8"))
