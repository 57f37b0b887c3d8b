"""Raw bytes to text: BOM-aware UTF-8/16/32 decoding, and the binary, NUL and undecodable verdicts."""
from __future__ import annotations

import codecs
from typing import NamedTuple

from pipeline import reasons

# (BOM, codec); UTF-32 LE must be tested before UTF-16 LE, whose BOM is its prefix.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Signatures of common binary formats that may sit behind a code extension.
_MAGIC = (
    (b"\x7fELF", "ELF executable"), (b"\x89PNG", "PNG image"), (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"), (b"PK\x03\x04", "zip archive"), (b"\x1f\x8b", "gzip data"), (b"BZh", "bzip2 data"),
    (b"\xfd7zXZ", "xz data"), (b"%PDF", "PDF document"), (b"\xca\xfe\xba\xbe", "Java class / Mach-O"),
    (b"MZ", "Windows executable"), (b"\x00asm", "WebAssembly"), (b"SQLite format 3", "SQLite database"),
)

# Bytes that never appear in text (tab, LF, VT, FF, CR and ESC are allowed).
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 27))
_SAMPLE = 8192
_BINARY_CONTROL_SHARE = 0.05


class Decoded(NamedTuple):
    text: str | None
    encoding: str | None
    reason: str | None
    detail: str | None


def _reject(reason: str, detail: str, encoding: str | None = None) -> Decoded:
    return Decoded(None, encoding, reason, detail)


def decode(data: bytes) -> Decoded:
    """Decode `data` or say why not. Never raises."""
    if not data:
        return _reject(reasons.EMPTY, "0 bytes")
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(codec)
            except UnicodeDecodeError as e:
                return _reject(reasons.UNDECODABLE, f"invalid {codec} after its BOM at byte {e.start + len(bom)}",
                               codec)
            return finish_text(text, codec)
    head = data[:_SAMPLE]
    control = len(head) - len(head.translate(None, _CONTROL))
    if control:  # a signature alone could be text that happens to start with "MZ" or "BZh"
        for magic, kind in _MAGIC:
            if data.startswith(magic):
                return _reject(reasons.BINARY, f"starts with the signature of {kind}")
    if control > _BINARY_CONTROL_SHARE * len(head):
        return _reject(reasons.BINARY, f"{control} of the first {len(head)} bytes are control bytes")
    nul = data.find(b"\x00")
    if nul >= 0:
        return _reject(reasons.NUL_BYTES, f"NUL byte at offset {nul}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return _reject(reasons.UNDECODABLE, f"not UTF-8: invalid byte 0x{data[e.start]:02x} at offset {e.start}")
    return finish_text(text, "utf-8")


def finish_text(text: str, codec: str) -> Decoded:
    """Checks shared by decoded bytes and text that arrives already decoded (datasets)."""
    if "\x00" in text:
        return _reject(reasons.NUL_BYTES, f"NUL character at offset {text.index(chr(0))}", codec)
    if not text.strip():
        return _reject(reasons.EMPTY, "whitespace only", codec)
    try:  # lone surrogates decode from UTF-16 but cannot be written back as UTF-8
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return _reject(reasons.UNDECODABLE, f"unpaired surrogate at character {e.start}", codec)
    return Decoded(text, codec, None, None)
