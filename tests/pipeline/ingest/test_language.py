"""Language detection: file names, extensions, template suffixes and shebang lines."""
import pytest

from pipeline.ingest import language as lang


@pytest.mark.parametrize("path, expected", [
    ("a.py", "Python"),
    ("pkg/sub/mod.PY", "Python"),             # extensions are case-insensitive
    ("stubs/x.pyi", "Python"),
    ("src/Main.java", "Java"),
    ("include/x.h", "C"),
    ("src/x.cpp", "C++"),
    ("kernel.cu", "C++"),
    ("a.go", "Go"),
    ("a.rs", "Rust"),
    ("app.tsx", "TypeScript"),
    ("analysis.R", "R"),
    ("notes.md", "Markdown"),
    ("data/x.jsonl", "JSON"),
    ("defs.bzl", "Starlark"),
    ("Makefile", "Makefile"),
    ("sub/GNUmakefile", "Makefile"),
    ("CMakeLists.txt", "CMake"),             # a whole name beats the .txt extension
    ("Dockerfile", "Dockerfile"),
    ("docker/Dockerfile.prod", "Dockerfile"),
    ("api.dockerfile", "Dockerfile"),
    ("Gemfile", "Ruby"),
    ("BUILD", "Starlark"),
    ("home/.bashrc", "Shell"),
    ("LICENSE", "Text"),
    ("setup.py.in", "Python"),               # template suffix: the inner name decides
    ("config.h.in", "C"),
    ("Makefile.in", "Makefile"),
    ("settings.yml.example", "YAML"),
])
def test_from_path_known(path, expected):
    assert lang.from_path(path) == expected
    assert lang.detect(path) == expected
    assert not lang.needs_shebang(path)


@pytest.mark.parametrize("path", ["image.png", "a.exe", "lib.so", "archive.tar.gz", "x.unknownext", ".in",
                                  "data.bin", "dir.py/readme.weird"])
def test_from_path_unknown(path):
    assert lang.from_path(path) is None


@pytest.mark.parametrize("path, needs", [
    ("bin/run", True),           # no extension: only the first line can tell
    ("a.b/tool", True),          # a dot in a folder name does not count
    (".hidden", True),           # a leading dot is not an extension
    ("x.unknownext", False),     # an extension nobody knows: no shebang lookup
    ("a.py", False),             # already known
    ("Makefile", False),
])
def test_needs_shebang(path, needs):
    assert lang.needs_shebang(path) is needs


@pytest.mark.parametrize("head, expected", [
    (b"#!/usr/bin/env python3\nprint(1)\n", "Python"),
    (b"#!/usr/bin/python3.11 -u\n", "Python"),
    (b"#!/usr/bin/env python3.11\n", "Python"),
    (b"#! /usr/bin/env python\n", "Python"),
    (b"#!/usr/bin/env python3\r\nprint(1)\r\n", "Python"),   # CRLF first line
    (b"#!/usr/bin/env -S python3 -u\n", "Python"),           # env -S: the next word is the program
    (b"#!/usr/bin/env -S deno run\n", "TypeScript"),
    (b"#!/bin/sh -e\n", "Shell"),
    (b"#!/bin/bash\n", "Shell"),
    (b"#!/usr/bin/env node\n", "JavaScript"),
    (b"#!/usr/bin/perl -w\n", "Perl"),
    (b"#!/usr/bin/env ruby\n", "Ruby"),
    (b"#!/usr/bin/env Rscript\n", "R"),
    (b"#!/usr/bin/make -f\n", "Makefile"),
])
def test_from_shebang(head, expected):
    assert lang.from_shebang(head) == expected
    assert lang.detect("bin/tool", head) == expected


@pytest.mark.parametrize("head", [
    b"", b"print('no shebang')\n", b"#!/usr/bin/env\n", b"#!/usr/bin/env -S\n", b"#!/opt/bin/unknowntool\n",
    b"# !/usr/bin/python\n", b"\x7fELF\x02\x01\x01\x00", b"#!\n", b"#!" + b"x" * 1000,
])
def test_from_shebang_none(head):
    assert lang.from_shebang(head) is None


def test_detect_prefers_the_name_over_the_shebang():
    assert lang.detect("script.rb", b"#!/usr/bin/env python3\n") == "Ruby"
    assert lang.detect("tool", None) is None
    assert lang.detect("tool", b"") is None


def test_languages_list_is_sorted_and_complete():
    assert list(lang.LANGUAGES) == sorted(set(lang.LANGUAGES))
    for value in [*lang.BY_EXTENSION.values(), *lang.FILENAMES.values(), *lang.INTERPRETERS.values()]:
        assert value in lang.LANGUAGES
    for ext in lang.BY_EXTENSION:
        assert ext.startswith(".") and ext == ext.lower()
