"""Raw bytes to text: BOMs, binary signatures, NUL bytes, non-UTF-8 and empty files all end in a verdict."""
import codecs

import pytest

from pipeline import reasons
from pipeline.ingest.decode import decode, finish_text

CODE = "def f(x):\n    return '中文' + x  # ünïcode\n"


def test_plain_utf8():
    d = decode(CODE.encode("utf-8"))
    assert (d.text, d.encoding, d.reason, d.detail) == (CODE, "utf-8", None, None)


def test_utf8_bom_is_stripped():
    d = decode(codecs.BOM_UTF8 + CODE.encode("utf-8"))
    assert d.reason is None
    assert d.text == CODE and not d.text.startswith("\ufeff")
    assert d.encoding == "utf-8"


@pytest.mark.parametrize("bom, codec", [
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
])
def test_utf16_and_utf32_with_bom(bom, codec):
    d = decode(bom + CODE.encode(codec))
    assert d.reason is None, d.detail
    assert d.text == CODE
    assert d.encoding == codec


def test_utf16_le_text_starting_with_ascii_is_not_taken_for_utf32():
    # b"\xff\xfe" + b"a\x00": the UTF-16 LE BOM followed by 'a', not the UTF-32 LE BOM (which needs two NULs)
    d = decode(codecs.BOM_UTF16_LE + "a = 1\n".encode("utf-16-le"))
    assert (d.text, d.encoding) == ("a = 1\n", "utf-16-le")


def test_utf16_without_bom_is_binary():
    d = decode(CODE.encode("utf-16-le"))  # every other byte NUL: far more than 5% control bytes
    assert d.reason == reasons.BINARY
    assert d.text is None


def test_truncated_utf16_after_bom_is_undecodable():
    d = decode(codecs.BOM_UTF16_LE + "x = 1\n".encode("utf-16-le")[:-1])
    assert d.reason == reasons.UNDECODABLE
    assert "utf-16-le" in d.detail and d.encoding == "utf-16-le"


def test_lone_surrogate_in_utf16_is_undecodable():
    d = decode(codecs.BOM_UTF16_LE + b"a\x00\x00\xd8b\x00")  # U+D800 with no low surrogate after it
    assert d.reason == reasons.UNDECODABLE
    assert d.text is None


@pytest.mark.parametrize("data, kind", [
    (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00>\x00" + b"print('hi')\n" * 50, "ELF"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + b"x = 1\n" * 50, "PNG"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "JPEG"),
    (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "zip"),
    (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", "gzip"),
    (b"\xca\xfe\xba\xbe\x00\x00\x00\x34", "Java class"),
    (b"\x00asm\x01\x00\x00\x00", "WebAssembly"),
])
def test_binary_signatures(data, kind):
    d = decode(data)
    assert d.reason == reasons.BINARY
    assert kind in d.detail
    assert d.text is None


def test_text_that_starts_like_a_signature_is_still_text():
    for text in ("MZ = 3  # not a Windows executable\n", "BZh = 'not bzip2'\n", "GIF89 = 1\n"):
        d = decode(text.encode())
        assert d.reason is None and d.text == text


def test_many_control_bytes_without_a_signature_are_binary():
    data = bytes(range(1, 32)) * 40 + b"x = 1\n"
    d = decode(data)
    assert d.reason == reasons.BINARY
    assert "control bytes" in d.detail


def test_a_few_control_bytes_are_tolerated():
    text = "x = 1  # \x1b[1mbold\x1b[0m \f\v\t\r\n" + "y = 2\n" * 20 + "\x01\n"
    d = decode(text.encode())
    assert d.reason is None and d.text == text


def test_nul_byte_in_otherwise_text():
    data = b"x = 1\n" * 200 + b"\x00" + b"y = 2\n"
    d = decode(data)
    assert d.reason == reasons.NUL_BYTES
    assert d.detail == "NUL byte at offset 1200"


def test_nul_byte_after_the_binary_sample_window():
    data = b"x = 1\n" * 3000 + b"\x00"  # past the first 8 KiB that the binary test looks at
    d = decode(data)
    assert d.reason == reasons.NUL_BYTES
    assert str(len(data) - 1) in d.detail


def test_latin1_text_is_undecodable():
    d = decode("name = 'café'\n".encode("latin-1"))
    assert d.reason == reasons.UNDECODABLE
    assert "0xe9" in d.detail
    assert d.text is None


@pytest.mark.parametrize("data", [b"\xed\xa0\x80", b"\xc0\xaf", b"abc\xff", b"x = '\xe4\xb8'\n"])
def test_invalid_utf8_is_undecodable(data):
    assert decode(data).reason == reasons.UNDECODABLE


def test_empty():
    d = decode(b"")
    assert (d.reason, d.detail) == (reasons.EMPTY, "0 bytes")


@pytest.mark.parametrize("data", [b" ", b"\n\n\n", b" \t\r\n \n", codecs.BOM_UTF8, codecs.BOM_UTF16_LE,
                                  codecs.BOM_UTF16_LE + " \n".encode("utf-16-le")])
def test_whitespace_only_is_empty(data):
    d = decode(data)
    assert d.reason == reasons.EMPTY
    assert d.detail == "whitespace only"
    assert d.text is None


def test_large_single_line_decodes():
    data = b"x" * 2_000_000
    d = decode(data)
    assert d.reason is None and len(d.text) == 2_000_000


def test_finish_text_for_text_that_arrives_decoded():
    assert finish_text("x = 1\n", "utf-8").text == "x = 1\n"
    assert finish_text("a\x00b", "utf-8").reason == reasons.NUL_BYTES
    assert finish_text("   \n", "utf-8").reason == reasons.EMPTY
    d = finish_text("x = '\ud800'\n", "utf-8")  # a lone surrogate, as a JSON "\ud800" escape gives
    assert d.reason == reasons.UNDECODABLE and "surrogate" in d.detail


def test_never_raises_on_arbitrary_bytes():
    import random

    rng = random.Random(0)
    for n in range(300):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        d = decode(data)
        assert (d.text is None) == (d.reason is not None)
        assert d.reason is None or d.reason in reasons.ALL
