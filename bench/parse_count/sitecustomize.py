"""Scale-bench hook (on PYTHONPATH only for its pipeline runs): logs the time of every tree-sitter parse, per process.

Python imports sitecustomize at start-up, so the driver and every Spark Python worker load this; when
BENCH_PARSE_LOG names a folder, tree_sitter.Parser becomes a thin proxy whose parse() appends one timestamp line
to <folder>/<pid>.log before parsing, or to <folder>/<pid>.incremental for a parse given an old tree (tree-sitter
re-parses only around that tree's edits). The pipeline's code is not changed: it still builds `tree_sitter.Parser`.
"""
import os

_LOG_DIR = os.environ.get("BENCH_PARSE_LOG")


def _install(log_dir: str) -> None:
    import time

    try:
        import tree_sitter
    except ImportError:
        return
    real = tree_sitter.Parser
    state = {"pid": None, "fds": {}}

    def log(suffix: str) -> None:
        pid = os.getpid()
        if state["pid"] != pid:  # a forked Spark worker writes its own files
            state["pid"], state["fds"] = pid, {}
        if suffix not in state["fds"]:
            state["fds"][suffix] = os.open(os.path.join(log_dir, f"{pid}.{suffix}"),
                                           os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(state["fds"][suffix], b"%.3f\n" % time.time())

    class CountingParser:
        """tree_sitter.Parser (a C type, not subclassable) with every parse() logged."""

        def __init__(self, *args, **kwargs):
            self._parser = real(*args, **kwargs)

        def parse(self, *args, **kwargs):
            log("incremental" if len(args) > 1 or kwargs.get("old_tree") is not None else "log")
            return self._parser.parse(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(self._parser, name)

    tree_sitter.Parser = CountingParser


if _LOG_DIR:
    _install(_LOG_DIR)
