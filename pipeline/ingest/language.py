"""Language of a file from its name, its extension, then its shebang line; None when it is not a known language."""
from __future__ import annotations

import posixpath
import re

# language -> extensions (lower case, with the dot). Order only matters for readability.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "Python": (".py", ".pyi", ".pyw"),
    "Cython": (".pyx", ".pxd", ".pxi"),
    "Java": (".java",),
    "C": (".c", ".h"),
    "C++": (".cc", ".cpp", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp", ".tpp", ".inl", ".cu", ".cuh"),
    "C#": (".cs", ".csx"),
    "Go": (".go",),
    "JavaScript": (".js", ".mjs", ".cjs", ".jsx"),
    "TypeScript": (".ts", ".tsx", ".mts", ".cts"),
    "Rust": (".rs",),
    "PHP": (".php", ".phtml"),
    "Ruby": (".rb", ".rake", ".gemspec"),
    "Kotlin": (".kt", ".kts"),
    "Scala": (".scala", ".sc"),
    "Swift": (".swift",),
    "Objective-C": (".m", ".mm"),
    "Shell": (".sh", ".bash", ".zsh", ".ksh"),
    "PowerShell": (".ps1", ".psm1", ".psd1"),
    "Batchfile": (".bat", ".cmd"),
    "Lua": (".lua",),
    "Perl": (".pl", ".pm", ".t", ".pod"),
    "R": (".r",),
    "Julia": (".jl",),
    "Haskell": (".hs", ".lhs"),
    "OCaml": (".ml", ".mli"),
    "Erlang": (".erl", ".hrl"),
    "Elixir": (".ex", ".exs"),
    "Clojure": (".clj", ".cljs", ".cljc", ".edn"),
    "F#": (".fs", ".fsi", ".fsx"),
    "Dart": (".dart",),
    "Groovy": (".groovy", ".gradle"),
    "Visual Basic": (".vb", ".vbs"),
    "Fortran": (".f", ".f77", ".f90", ".f95", ".f03", ".f08", ".for"),
    "Assembly": (".s", ".asm"),
    "Verilog": (".v", ".sv", ".svh", ".vh"),
    "VHDL": (".vhd", ".vhdl"),
    "Zig": (".zig",),
    "Nim": (".nim",),
    "Elm": (".elm",),
    "Solidity": (".sol",),
    "Protocol Buffer": (".proto",),
    "Thrift": (".thrift",),
    "SQL": (".sql",),
    "CMake": (".cmake",),
    "Makefile": (".mk", ".mak"),
    "Dockerfile": (".dockerfile",),
    "HCL": (".tf", ".hcl"),
    "Nix": (".nix",),
    "Vim Script": (".vim",),
    "Emacs Lisp": (".el",),
    "Common Lisp": (".lisp", ".lsp", ".cl"),
    "Scheme": (".scm", ".ss", ".rkt"),
    "Tcl": (".tcl",),
    "AWK": (".awk",),
    "Jupyter Notebook": (".ipynb",),
    # markup, styles, docs and data formats
    "HTML": (".html", ".htm", ".xhtml"),
    "CSS": (".css",),
    "SCSS": (".scss", ".sass"),
    "Less": (".less",),
    "Vue": (".vue",),
    "Svelte": (".svelte",),
    "Markdown": (".md", ".markdown", ".mdx"),
    "reStructuredText": (".rst",),
    "TeX": (".tex", ".sty", ".cls", ".bib"),
    "AsciiDoc": (".adoc", ".asciidoc"),
    "JSON": (".json", ".jsonc", ".json5", ".geojson", ".jsonl"),
    "YAML": (".yaml", ".yml"),
    "TOML": (".toml",),
    "XML": (".xml", ".xsd", ".xsl", ".xslt", ".svg", ".plist", ".pom", ".csproj", ".vcxproj", ".props"),
    "INI": (".ini", ".cfg", ".conf", ".properties", ".editorconfig"),
    "CSV": (".csv", ".tsv"),
    "GraphQL": (".graphql", ".gql"),
    "Text": (".txt",),
}

# Whole file names (lower case) that say the language without an extension.
FILENAMES: dict[str, str] = {
    "makefile": "Makefile", "gnumakefile": "Makefile", "makefile.am": "Makefile", "makefile.in": "Makefile",
    "dockerfile": "Dockerfile", "containerfile": "Dockerfile",
    "cmakelists.txt": "CMake",
    "gemfile": "Ruby", "rakefile": "Ruby", "podfile": "Ruby", "vagrantfile": "Ruby", "guardfile": "Ruby",
    "build": "Starlark", "build.bazel": "Starlark", "workspace": "Starlark", "workspace.bazel": "Starlark",
    "sconstruct": "Python", "sconscript": "Python",
    "jenkinsfile": "Groovy",
    ".bashrc": "Shell", ".bash_profile": "Shell", ".profile": "Shell", ".zshrc": "Shell",
    "pkgbuild": "Shell", "apkbuild": "Shell",
    ".gitignore": "Ignore List", ".dockerignore": "Ignore List",
    "readme": "Text", "license": "Text", "copying": "Text", "authors": "Text", "changelog": "Text",
}
EXTENSIONS["Starlark"] = (".bzl", ".star")
EXTENSIONS["Ignore List"] = ()

# interpreter (basename, version digits stripped) -> language
INTERPRETERS: dict[str, str] = {
    "python": "Python", "pypy": "Python",
    "sh": "Shell", "bash": "Shell", "zsh": "Shell", "ksh": "Shell", "dash": "Shell", "ash": "Shell",
    "node": "JavaScript", "nodejs": "JavaScript", "deno": "TypeScript", "ts-node": "TypeScript",
    "perl": "Perl", "ruby": "Ruby", "php": "PHP", "lua": "Lua", "luajit": "Lua", "rscript": "R",
    "tclsh": "Tcl", "wish": "Tcl", "awk": "AWK", "gawk": "AWK", "julia": "Julia", "groovy": "Groovy",
    "scala": "Scala", "elixir": "Elixir", "escript": "Erlang", "pwsh": "PowerShell", "make": "Makefile",
    "runghc": "Haskell", "runhaskell": "Haskell", "ocaml": "OCaml", "guile": "Scheme", "racket": "Scheme",
    "sbcl": "Common Lisp", "emacs": "Emacs Lisp",
}

BY_EXTENSION: dict[str, str] = {ext: lang for lang, exts in EXTENSIONS.items() for ext in exts}
LANGUAGES: tuple[str, ...] = tuple(sorted({*BY_EXTENSION.values(), *FILENAMES.values(), *INTERPRETERS.values()}))

_SHEBANG = re.compile(rb"^#![ \t]*(\S+)(?:[ \t]+(\S+))?")
_VERSION = re.compile(r"[\d.]+$")


def from_path(path: str) -> str | None:
    """Language from the file name or extension alone."""
    name = posixpath.basename(path).lower()
    if name in FILENAMES:
        return FILENAMES[name]
    if name.startswith("dockerfile.") or name.endswith(".dockerfile"):
        return "Dockerfile"
    stem, ext = posixpath.splitext(name)
    if ext in (".in", ".tmpl", ".template", ".dist", ".example") and stem:
        # config.h.in, setup.py.in: the language of the inner name
        return from_path(stem)
    return BY_EXTENSION.get(ext)


def needs_shebang(path: str) -> bool:
    """True when the name says nothing (no extension) and only the first line can tell."""
    name = posixpath.basename(path)
    return from_path(path) is None and "." not in name.lstrip(".")


def from_shebang(head: bytes) -> str | None:
    """Language from a `#!` first line: `#!/usr/bin/env python3 -u` -> Python."""
    m = _SHEBANG.match(head[:256])
    if not m:
        return None
    prog = m.group(1).decode("utf-8", "replace").rsplit("/", 1)[-1]
    if prog == "env" and m.group(2):
        prog = m.group(2).decode("utf-8", "replace")
        if prog.startswith("-"):  # env -S python3 -u
            rest = head[m.end(2):].split(b"\n", 1)[0].split()
            prog = rest[0].decode("utf-8", "replace") if rest else prog
    prog = _VERSION.sub("", prog.lower()) or prog.lower()
    return INTERPRETERS.get(prog)


def detect(path: str, head: bytes | None = None) -> str | None:
    """Name, then extension, then shebang (when `head`, the first bytes, is given)."""
    return from_path(path) or (from_shebang(head) if head else None)
