"""Each language's own compiler or parser, in its syntax-only mode where it has one, as the ground truth.

An oracle takes [(file to check, folder of the original file)] and returns [(accepted, first error line)].
Parse-only: CPython compile(), javac's parser (JavacTask.parse), V8 through node's vm module (as a CommonJS or an
ES module, one process for all files), the TypeScript parser (createSourceFile), gofmt -e, rustfmt, php -l,
ruby -c, luac -p, bash -n, PostgreSQL's parser (pglast).
gcc/g++ -fsyntax-only also resolves names and types (C cannot be parsed without knowing its typedefs), so their
verdicts are split by the first error message into syntax-class and later-phase errors.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import warnings
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "parse_only")
# gcc messages that come from the parser or the preprocessor rather than name or type resolution
GCC_SYNTAX = re.compile(r"expected |stray |unterminated|missing terminating|at end of input|without #if|"
                        r"#else after|unbalanced|invalid preprocessing|extra tokens|before .* token|"
                        r"empty character constant|no macro name|not a valid|unmatched")
Result = tuple[bool, str]


def _first_error(out: str) -> str:
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()]
    return (errors or lines or ["rejected"])[0][:200]


def _run(cmd: list[str], stdin: bytes | None = None, timeout: float = 60.0) -> Result:
    try:
        p = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timeout after {timeout:g}s"
    out = (p.stderr + p.stdout).decode("utf-8", "replace")
    return p.returncode == 0, "" if p.returncode == 0 else _first_error(out)


def python_compile(items: list[tuple[str, str]]) -> list[Result]:
    out = []
    for path, _ in items:
        with open(path, encoding="utf-8") as f, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                compile(f.read(), path, "exec", dont_inherit=True)
                out.append((True, ""))
            except (SyntaxError, ValueError) as e:
                out.append((False, f"{type(e).__name__}: {e}"[:200]))
    return out


def postgres_parse(items: list[tuple[str, str]]) -> list[Result]:
    from pglast import parser  # libpg_query: PostgreSQL's own parser

    out = []
    for path, _ in items:
        with open(path, encoding="utf-8") as f:
            try:
                parser.parse_sql(f.read())
                out.append((True, ""))
            except parser.ParseError as e:
                out.append((False, f"ParseError: {e}"[:200]))
    return out


def _gcc(lang: str, std: str):
    def check(path: str, src_dir: str) -> Result:
        includes = ["-iquote", src_dir]
        parts = src_dir.split(os.sep)  # a package's own include root (boost/..., linux/...) for <...> includes
        includes += [f"-I{os.sep.join(parts[:i + 1])}" for i, p in enumerate(parts) if p == "include"]
        return _run(["gcc", "-fsyntax-only", "-w", "-x", lang, f"-std={std}", *includes, path], timeout=30)
    return check


def _per_file(check):
    def run(items: list[tuple[str, str]]) -> list[Result]:
        with ThreadPoolExecutor(max_workers=2) as pool:
            return list(pool.map(lambda item: check(*item), items))
    return run


def _batch(cmd: list[str]):
    """A helper that reads paths on stdin and prints `ok` or `error ...` per path."""
    def run(items: list[tuple[str, str]]) -> list[Result]:
        p = subprocess.run(cmd, input="\n".join(path for path, _ in items) + "\n", capture_output=True, text=True,
                           timeout=600)
        lines = p.stdout.splitlines()
        if len(lines) != len(items):
            raise RuntimeError(f"{cmd[0]} answered {len(lines)} of {len(items)}: {p.stderr[-500:]}")
        return [(ln == "ok", "" if ln == "ok" else ln) for ln in lines]
    return run


def _cmd(*args: str):
    return _per_file(lambda path, _src: _run([*args, path]))


def _rustfmt(path: str, _src: str) -> Result:
    with open(path, "rb") as f:  # on stdin, so `mod x;` lines are not followed to other files
        return _run(["rustfmt", "--edition", "2021", "--emit", "stdout"], stdin=f.read())


def typescript_dir() -> str | None:
    """The `typescript` npm package: $TYPESCRIPT_DIR, or wherever node resolves it from."""
    if os.environ.get("TYPESCRIPT_DIR"):
        return os.environ["TYPESCRIPT_DIR"] if os.path.isdir(os.environ["TYPESCRIPT_DIR"]) else None
    if shutil.which("node") is None:
        return None
    p = subprocess.run(["node", "-p", "require.resolve('typescript/package.json')"], capture_output=True, text=True)
    return os.path.dirname(p.stdout.strip()) if p.returncode == 0 else None


def oracles() -> dict[str, tuple[str, object]]:
    """language -> (what judges it, oracle), for the tools installed here."""
    have = {t: shutil.which(t) for t in ("gcc", "g++", "java", "node", "gofmt", "rustfmt", "php", "ruby", "bash")}
    luac = shutil.which("luac5.4") or shutil.which("luac")
    found = {"Python": ("CPython compile()", python_compile)}
    if have["gcc"]:
        found["C"] = ("gcc -fsyntax-only", _per_file(_gcc("c", "gnu17")))
    if have["g++"]:
        found["C++"] = ("g++ -fsyntax-only", _per_file(_gcc("c++", "gnu++20")))
    if have["java"]:
        found["Java"] = ("javac parser", _batch(["java", os.path.join(HERE, "JavaParseOnly.java")]))
    if have["node"]:
        found["JavaScript"] = ("node (V8 parser)", _batch(["node", "--experimental-vm-modules", "--no-warnings",
                                                            os.path.join(HERE, "node_parse_only.js")]))
        ts = typescript_dir()
        if ts:
            found["TypeScript"] = ("tsc parser", _batch(["node", os.path.join(HERE, "ts_parse_only.js"), ts]))
    if have["gofmt"]:
        found["Go"] = ("gofmt -e", _cmd("gofmt", "-e", "-l"))
    if have["rustfmt"]:
        found["Rust"] = ("rustfmt (rustc's parser)", _per_file(_rustfmt))
    if have["php"]:
        found["PHP"] = ("php -l", _cmd("php", "-l"))
    if have["ruby"]:
        found["Ruby"] = ("ruby -c", _cmd("ruby", "-c"))
    if luac:
        found["Lua"] = ("luac -p", _cmd(luac, "-p"))
    if have["bash"]:
        found["Shell"] = ("bash -n", _cmd("bash", "-n"))
    if importlib.util.find_spec("pglast") is not None:
        found["SQL"] = ("PostgreSQL parser (pglast)", postgres_parse)
    return found


def syntax_class(lang: str, message: str) -> bool:
    """Whether a rejection is a syntax error (always, except gcc/g++ errors from name and type resolution)."""
    return lang not in ("C", "C++") or bool(GCC_SYNTAX.search(message))
