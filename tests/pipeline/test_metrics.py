"""text_metrics: exact values on small strings, Arrow edge cases, and agreement with Python on real files."""
import pathlib
import sysconfig

import pyarrow as pa
import pytest

from pipeline.metrics import text_metrics

KEYS = ("size_bytes", "n_lines", "avg_line_len", "max_line_len", "alnum_frac")


def metrics(texts, type_=pa.string()):
    out = text_metrics(pa.array(texts, type_))
    assert set(out) == set(KEYS)
    assert all(len(out[k]) == len(texts) for k in KEYS)
    return [{k: out[k][i].as_py() for k in KEYS} for i in range(len(texts))]


def reference(text):
    """The same metrics in plain Python, straight from the docstring's definitions."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # a final newline does not start another line; "" has no lines
    return {
        "size_bytes": len(text.encode("utf-8")),
        "n_lines": len(lines),
        "avg_line_len": sum(map(len, lines)) / len(lines) if lines else 0.0,
        "max_line_len": max(map(len, lines), default=0),
        "alnum_frac": sum(c.isalnum() for c in text) / len(text) if text else 0.0,
    }


@pytest.mark.parametrize("text, expected", [
    ("", (0, 0, 0.0, 0, 0.0)),
    ("a\nbb\n", (5, 2, 1.5, 2, 0.6)),
    ("a\nbb", (4, 2, 1.5, 2, 0.75)),            # no trailing newline: the last line still counts
    ("\n", (1, 1, 0.0, 0, 0.0)),
    ("\n\n\n", (3, 3, 0.0, 0, 0.0)),
    ("abc", (3, 1, 3.0, 3, 1.0)),
    ("a\r\nbb\r\n", (7, 2, 2.5, 3, 3 / 7)),     # only "\n" ends a line: a CR is a character of its line
    ("x = 1\n\ny\n", (9, 3, 2.0, 5, 3 / 9)),
    ("中文\n", (7, 1, 2.0, 2, 2 / 3)),           # CJK ideographs are letters; lengths are in characters
    ("é1 ١٢\n", (9, 1, 5.0, 5, 4 / 6)),         # Latin letter with accent, Arabic-Indic digits
    ("😀😀\n", (9, 1, 2.0, 2, 0.0)),              # emoji: characters, not alphanumeric
    ("___ ---", (7, 1, 7.0, 7, 0.0)),
])
def test_small_strings(text, expected):
    (got,) = metrics([text])
    assert (got["size_bytes"], got["n_lines"], got["max_line_len"]) == (expected[0], expected[1], expected[3])
    assert got["avg_line_len"] == pytest.approx(expected[2])
    assert got["alnum_frac"] == pytest.approx(expected[4], rel=1e-6)
    ref = reference(text)
    assert got["n_lines"] == ref["n_lines"] and got["max_line_len"] == ref["max_line_len"]
    assert got["alnum_frac"] == pytest.approx(ref["alnum_frac"], rel=1e-6)


def test_nulls_stay_null():
    got = metrics([None, "ab\n", None, "中\n", None])
    for i in (0, 2, 4):
        assert all(got[i][k] is None for k in KEYS)
    assert got[1] == {"size_bytes": 3, "n_lines": 1, "avg_line_len": 2.0, "max_line_len": 2,
                      "alnum_frac": pytest.approx(2 / 3)}
    assert got[3]["alnum_frac"] == pytest.approx(0.5)


def test_all_null_and_empty_arrays():
    got = metrics([None, None])
    assert all(v is None for row in got for v in row.values())
    assert metrics([]) == []


def test_output_types():
    out = text_metrics(pa.array(["a\n"]))
    assert out["size_bytes"].type == pa.int64()
    assert out["n_lines"].type == pa.int32() and out["max_line_len"].type == pa.int32()
    assert out["avg_line_len"].type == pa.float32() and out["alnum_frac"].type == pa.float32()


def test_sliced_chunked_and_large_string_inputs():
    texts = ["xx\n", "a\nbb\n", "中文 12\n", None, "!!!\n", "q"]
    expected = metrics(texts)
    sliced = text_metrics(pa.array(texts).slice(1, 4))
    assert [sliced["alnum_frac"][i].as_py() for i in range(4)] == [e["alnum_frac"] for e in expected[1:5]]
    assert [sliced["max_line_len"][i].as_py() for i in range(4)] == [e["max_line_len"] for e in expected[1:5]]
    chunked = text_metrics(pa.chunked_array([pa.array(texts[:2]), pa.array(texts[2:])]))
    assert chunked["n_lines"].to_pylist() == [e["n_lines"] for e in expected]
    assert metrics(texts, pa.large_string()) == expected


def test_a_2mb_single_line():
    (got,) = metrics(["x" * 2_000_000])
    assert (got["n_lines"], got["max_line_len"], got["avg_line_len"], got["size_bytes"]) == (
        1, 2_000_000, 2_000_000.0, 2_000_000)
    assert got["alnum_frac"] == 1.0


def test_more_than_ten_thousand_lines():
    text = "".join(f"line {i}\n" for i in range(12_345))
    (got,) = metrics([text])
    ref = reference(text)
    assert got["n_lines"] == 12_345
    assert got["max_line_len"] == ref["max_line_len"] == len("line 12344")
    assert got["avg_line_len"] == pytest.approx(ref["avg_line_len"], rel=1e-6)
    (no_final_newline,) = metrics([text + "tail"])
    assert no_final_newline["n_lines"] == 12_346


def _stdlib_texts(n_sampled=300, n_non_ascii=150):
    """A stride sample of the standard library's .py files, plus non-ASCII ones (real Unicode identifiers,
    strings and comments), decoded as UTF-8."""
    files = sorted(pathlib.Path(sysconfig.get_paths()["stdlib"]).rglob("*.py"))
    assert len(files) > 1000, "the Python standard library was not found"
    sampled = files[:: max(1, len(files) // n_sampled)]
    texts, seen = [], set()
    for path in sampled + files[::3]:
        if path in seen or (path not in sampled and n_non_ascii <= 0):
            continue
        seen.add(path)
        try:
            data = path.read_bytes()
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if path not in sampled:
            if data.isascii():
                continue
            n_non_ascii -= 1
        texts.append(text)
    return texts


def test_agrees_with_python_on_the_standard_library():
    texts = _stdlib_texts()
    assert len(texts) > 300 and sum(not t.isascii() for t in texts) > 50
    out = text_metrics(pa.array(texts))
    for i, text in enumerate(texts):
        ref = reference(text)
        assert out["size_bytes"][i].as_py() == ref["size_bytes"]
        assert out["n_lines"][i].as_py() == ref["n_lines"]
        assert out["max_line_len"][i].as_py() == ref["max_line_len"]
        assert out["avg_line_len"][i].as_py() == pytest.approx(ref["avg_line_len"], rel=1e-6)
        # letters and digits as Unicode classes L and N, the same set str.isalnum counts on real code
        assert out["alnum_frac"][i].as_py() == pytest.approx(ref["alnum_frac"], rel=1e-6, abs=1e-7)
