"""MinHash signatures of code-token shingles, vectorised with numpy over whole Arrow batches.

Compatible with datasketch 2.x's default ("affine32") MinHash: for the same 32-bit shingle hash function and seed,
`signatures(...)` equals `datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash32).update_batch(shingles)`
(`shingle_hash32` and `shingles` below are the pure-Python definitions of what is vectorised here).

Tokens are maximal runs of word bytes (ASCII letters, digits, `_`, and every byte of a non-ASCII character) and
single punctuation bytes; whitespace separates tokens and is never part of one. A token hashes to
fmix32(sum_k byte_k * B^k mod 2^32), a shingle of n tokens to fmix32(sum_j h_j * C^(n-1-j) mod 2^32).
The polynomial form lets numpy hash every token of a batch at once from prefix sums of the byte buffer.
"""
from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa

from pipeline.span_hashes import span_sums

B = np.uint32(0x01000193)    # token polynomial base (odd: invertible mod 2^32)
C = np.uint32(0x9E3779B1)    # shingle combination base (odd)
B_INV = np.uint32(pow(int(B), -1, 1 << 32))
_FMIX = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))
_MASK32 = (1 << 32) - 1

_WORD = np.zeros(256, dtype=bool)
_WORD[[ord(c) for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"]] = True
_WORD[0x80:] = True
_SPACE = np.zeros(256, dtype=bool)
_SPACE[[9, 10, 11, 12, 13, 32]] = True


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer on a uint32 array (the same bijection datasketch applies)."""
    s1, m1, s2, m2, s3 = _FMIX
    h = h ^ (h >> s1)
    h = h * m1
    h = h ^ (h >> s2)
    h = h * m2
    return h ^ (h >> s3)


def _fmix_int(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK32
    return h ^ (h >> 16)


# --- the pure-Python definitions (the reference the vectorised code must equal) ---------------------------

def tokens(data: bytes) -> list[bytes]:
    out, i, n = [], 0, len(data)
    while i < n:
        c = data[i]
        if _SPACE[c]:
            i += 1
        elif _WORD[c]:
            j = i + 1
            while j < n and _WORD[data[j]]:
                j += 1
            out.append(data[i:j])
            i = j
        else:
            out.append(data[i:i + 1])
            i += 1
    return out


def token_hash32(token: bytes) -> int:
    h, power = 0, 1
    for byte in token:
        h = (h + byte * power) & _MASK32
        power = (power * int(B)) & _MASK32
    return _fmix_int(h)


def shingles(data: bytes, n: int) -> list[bytes]:
    """The n-token shingles of a text, each as its tokens joined by NUL (a byte no decoded text holds)."""
    toks = tokens(data)
    return [b"\x00".join(toks[i:i + n]) for i in range(len(toks) - n + 1)]


def shingle_hash32(shingle: bytes) -> int:
    """The 32-bit shingle hash function (for datasketch's `hashfunc`)."""
    h = 0
    for token in shingle.split(b"\x00"):
        h = (h * int(C) + token_hash32(token)) & _MASK32
    return _fmix_int(h)


# --- vectorised ------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) exactly as datasketch's affine32 scheme draws them."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def _token_spans(buf: np.ndarray, doc_starts: np.ndarray):
    """(starts, ends, doc index) of every token in a concatenated byte buffer, documents kept apart."""
    word = _WORD[buf]
    space = _SPACE[buf]
    boundary = np.zeros(len(buf) + 1, dtype=bool)  # True where a new document starts (tokens never cross it)
    boundary[doc_starts] = True
    prev_word = np.concatenate(([False], word[:-1])) & ~boundary[:-1]
    next_word = np.concatenate((word[1:], [False])) & ~boundary[1:]
    punct = ~word & ~space
    starts = np.flatnonzero((word & ~prev_word) | punct)
    ends = np.flatnonzero((word & ~next_word) | punct) + 1
    # documents lie end to end: a document's tokens run from the first token at or after its start to the next's
    firsts = np.searchsorted(starts, doc_starts)
    docs = np.repeat(np.arange(len(doc_starts)), np.diff(firsts, append=len(starts)))
    return starts, ends, docs


def _token_hashes(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """fmix32(sum byte_k * B^k) per token, from prefix sums G[i] = sum_{k<i} byte_k * B^k (all mod 2^32)."""
    return fmix32(span_sums(buf, starts, ends, B, B_INV))


def _shingle_hashes(token_h: np.ndarray, token_doc: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(hash, doc) of every run of n consecutive tokens inside one document."""
    count = len(token_h) - n + 1
    if count <= 0:
        return np.zeros(0, np.uint32), np.zeros(0, np.int64)
    h = np.zeros(count, dtype=np.uint32)
    for j in range(n):
        h = h * C + token_h[j:j + count]
    same_doc = token_doc[:count] == token_doc[n - 1:n - 1 + count]
    return fmix32(h[same_doc]), token_doc[:count][same_doc]


# shingles per step of the permutation loop: larger steps pay numpy's per-call costs less often, and up to ~16k the
# (permutations x step) buffer still stays in cache (measured on 8,000 corpus files: 4,096 -> 16,384 took 25% off)
MINHASH_STEP = 16384


def _minhash(shingle_h: np.ndarray, shingle_doc: np.ndarray, n_docs: int, a, b,
             chunk: int = MINHASH_STEP) -> np.ndarray:
    """Per document, the minimum over its shingles of a_k * fmix32(h) + b_k (mod 2^32) for every k.

    Shingles arrive grouped by document. Laid out permutation-major, each row's reduction runs over contiguous
    memory; duplicate shingles of a document are dropped first (a minimum over a set)."""
    if len(shingle_h) == 0:
        return np.full((n_docs, len(a)), np.uint32(_MASK32), dtype=np.uint32)
    key = (shingle_doc.astype(np.uint64) << np.uint64(32)) | shingle_h.astype(np.uint64)
    key.sort()
    key = key[np.concatenate(([True], key[1:] != key[:-1]))]  # sort + diff: faster here than np.unique's hashing
    docs_all = (key >> np.uint64(32)).astype(np.int64)
    x_all = fmix32((key & np.uint64(_MASK32)).astype(np.uint32))  # datasketch's pre-mix of the input hash
    sig = np.full((len(a), n_docs), np.uint32(_MASK32), dtype=np.uint32)
    a_col, b_col = a[:, None], b[:, None]
    buf = np.empty((len(a), chunk), dtype=np.uint32)
    last_doc = -1
    for lo in range(0, len(x_all), chunk):
        xs, ds = x_all[lo:lo + chunk], docs_all[lo:lo + chunk]
        phv = np.multiply(a_col, xs[None, :], out=buf[:, :len(xs)])
        np.add(phv, b_col, out=phv)
        firsts = np.flatnonzero(np.concatenate(([True], ds[1:] != ds[:-1])))
        mins = np.minimum.reduceat(phv, firsts, axis=1)
        docs = ds[firsts]
        if docs[0] == last_doc:  # a document split across chunks: only the first can continue the last
            np.minimum(mins[:, 0], sig[:, last_doc], out=mins[:, 0])
        sig[:, docs] = mins
        last_doc = docs[-1]
    return sig.T


def _chunks(texts: pa.Array, n: int, chunk_bytes: int):
    """(first doc, end doc, token counts, shingle hashes, shingle docs) per chunk of a few MB of whole documents."""
    texts = texts.cast(pa.string()) if texts.type != pa.string() else texts
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int32)[texts.offset:texts.offset + len(texts) + 1] \
        if len(texts) else np.zeros(1, np.int32)
    data = texts.buffers()[2] if len(texts) else None
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    lo = 0
    while lo < len(texts):  # a few MB of text at a time keeps the prefix arrays small
        hi = lo + 1
        while hi < len(texts) and offsets[hi + 1] - offsets[lo] <= chunk_bytes:
            hi += 1
        base = offsets[lo]
        buf = raw[base:offsets[hi]]
        if len(buf):
            doc_starts = (offsets[lo:hi] - base).astype(np.int64)
            starts, ends, docs = _token_spans(buf, doc_starts)
            n_tokens = np.bincount(docs, minlength=hi - lo)
            sh, sd = _shingle_hashes(_token_hashes(buf, starts, ends), docs, n)
        else:
            n_tokens, sh, sd = np.zeros(hi - lo, np.int64), np.zeros(0, np.uint32), np.zeros(0, np.int64)
        yield lo, hi, n_tokens, sh, sd
        lo = hi


def signatures(texts: pa.Array, n: int, num_perm: int, seed: int, min_tokens: int,
               chunk_bytes: int = 4 << 20) -> tuple[np.ndarray, np.ndarray]:
    """(signatures uint32[len(texts), num_perm], token counts). Texts with fewer than max(n, min_tokens) tokens
    get a signature of all 0xFFFFFFFF and should be skipped by the caller (their token count says so)."""
    a, b = permutations(num_perm, seed)
    sig = np.full((len(texts), num_perm), np.uint32(_MASK32), dtype=np.uint32)
    counts = np.zeros(len(texts), dtype=np.int64)
    for lo, hi, n_tokens, sh, sd in _chunks(texts, n, chunk_bytes):
        counts[lo:hi] = n_tokens
        keep = n_tokens[sd] >= max(n, min_tokens)
        sig[lo:hi] = _minhash(sh[keep], sd[keep], hi - lo, a, b)
    return sig, counts


def shingle_sets(texts: pa.Array, n: int, chunk_bytes: int = 4 << 20) -> list[np.ndarray]:
    """Each text's set of shingle hashes, sorted (for exact Jaccard)."""
    out: list[np.ndarray] = []
    for lo, hi, _, sh, sd in _chunks(texts, n, chunk_bytes):
        key = (sd.astype(np.uint64) << np.uint64(32)) | sh.astype(np.uint64)
        key = np.unique(key)
        docs = (key >> np.uint64(32)).astype(np.int64)
        cuts = np.searchsorted(docs, np.arange(hi - lo + 1))
        values = (key & np.uint64(_MASK32)).astype(np.uint32)
        out += [values[cuts[i]:cuts[i + 1]] for i in range(hi - lo)]
    return out


def exact_jaccard(a: pa.Array, b: pa.Array, n: int) -> np.ndarray:
    """Jaccard of the shingle-hash sets of a[i] and b[i], for every i."""
    sa, sb = shingle_sets(a, n), shingle_sets(b, n)
    out = np.empty(len(sa), dtype=np.float64)
    for i, (x, y) in enumerate(zip(sa, sb)):
        inter = len(np.intersect1d(x, y, assume_unique=True))
        union = len(x) + len(y) - inter
        out[i] = inter / union if union else 0.0  # two empty sets: no evidence of duplication
    return out
