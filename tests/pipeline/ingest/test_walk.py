"""Folder listing: plan, walk_local and classify decide everything that needs no reading, on a hostile tree."""
import dataclasses
import os
import time

import pyarrow as pa
import pytest

from pipeline import reasons
from pipeline.config import IngestConfig
from pipeline.ingest.walk import WalkTask, classify, plan, walk_batches, walk_local
from schemas import LISTING

CFG = IngestConfig()


def _write(path, data=b"x = 1\n"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def listing(root, cfg=CFG, source="src"):
    """Every row for a folder input, as the distributed listing would produce it, keyed by path."""
    rows = [row for task in plan(source, str(root), cfg.skip_dirs) for row in walk_local(task, cfg)]
    paths = [r["path"] for r in rows]
    assert len(paths) == len(set(paths)), "a path was listed twice"
    return {r["path"]: r for r in rows}


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "in"
    _write(root / "a.py")
    _write(root / "sub" / "b.py", b"def b():\n    return 2\n")
    _write(root / "sub" / "deep" / "c.go", b"package c\n")
    _write(root / "sub" / "img.xyz", b"\x00\x01")
    _write(root / "sub" / "empty.py", b"")
    _write(root / "run", b"#!/usr/bin/env python3\nprint(1)\n")
    _write(root / ".git" / "config", b"[core]\n")
    _write(root / ".git" / "hooks" / "pre-commit.py", b"x = 1\n")
    _write(root / "sub" / ".hg" / "store.py", b"x = 1\n")
    _write(root / "sub" / "node" / ".svn" / "entries.py", b"x = 1\n")
    _write(root / "new\nline.py", b"n = 1\n")
    _write(root / "中文" / "模块.py", "名字 = '值'\n".encode())
    return root


def test_plan_one_task_per_top_folder_skipping_vcs_and_links(tree):
    os.symlink(tree / "sub", tree / "sub_link")
    tasks = plan("src", str(tree), CFG.skip_dirs)
    assert tasks[0] == WalkTask("src", str(tree), "", False)
    assert [t.rel_dir for t in tasks[1:]] == ["sub", "中文"]
    assert all(t.recursive for t in tasks[1:])


def test_walk_batches_of_planned_tasks_cover_the_tree(tree):
    rows = list(walk_batches(plan("src", str(tree), CFG.skip_dirs), CFG, rows_per_batch=3))
    assert len(rows) > 1
    assert all(b.schema == LISTING for b in rows)
    assert sorted(pa.Table.from_batches(rows).column("path").to_pylist()) == sorted(listing(tree))


def test_walk_lists_regular_files_with_language_and_uri(tree):
    rows = listing(tree)
    assert set(rows) == {"a.py", "run", "new\nline.py", "sub/b.py", "sub/deep/c.go", "sub/img.xyz",
                         "sub/empty.py", "中文/模块.py"}
    b = rows["sub/b.py"]
    assert b == {"source": "src", "repo": "src", "path": "sub/b.py", "uri": str(tree / "sub" / "b.py"),
                 "size_bytes": 22, "kind": "file", "language": "Python", "reject_reason": None,
                 "reject_detail": None}
    assert rows["sub/deep/c.go"]["language"] == "Go"
    assert rows["sub/empty.py"]["reject_reason"] is None  # empty is a decode verdict, not a listing one


def test_vcs_folders_are_never_entered(tree):
    rows = listing(tree)
    for path in rows:
        parts = path.split("/")
        assert not {".git", ".hg", ".svn"} & set(parts), path


def test_skip_dirs_is_configurable(tree):
    rows = listing(tree, dataclasses.replace(CFG, skip_dirs=["deep"]))
    assert "sub/deep/c.go" not in rows
    assert "sub/.hg/store.py" in rows and ".git/config" in rows


def test_newline_and_cjk_names_are_listed_with_their_real_paths(tree):
    rows = listing(tree)
    for rel in ("new\nline.py", "中文/模块.py"):
        row = rows[rel]
        assert row["reject_reason"] is None and row["language"] == "Python"
        with open(row["uri"], "rb") as f:
            assert f.read() in (b"n = 1\n", "名字 = '值'\n".encode())


def test_unknown_extension_is_rejected_without_a_uri(tree):
    row = listing(tree)["sub/img.xyz"]
    assert row["reject_reason"] == reasons.UNKNOWN_LANGUAGE
    assert "'xyz'" in row["reject_detail"]
    assert row["uri"] is None


def test_extensionless_file_waits_for_its_shebang(tree):
    row = listing(tree)["run"]
    assert row["language"] is None and row["reject_reason"] is None
    assert row["uri"] == str(tree / "run")


@pytest.mark.timeout(20)
def test_symlink_loops_are_reported_not_followed(tree):
    os.symlink("..", tree / "sub" / "up")                     # a loop back to the root
    os.symlink(".", tree / "sub" / "deep" / "here")           # a loop onto itself
    os.symlink("self", tree / "self")                         # a link to itself (ELOOP when followed)
    os.symlink(tree / "sub", tree / "sub_link")               # a link to a folder at the top
    start = time.monotonic()
    rows = listing(tree)
    assert time.monotonic() - start < 5
    for rel, target in [("sub/up", ".."), ("sub/deep/here", "."), ("self", "self"),
                        ("sub_link", str(tree / "sub"))]:
        row = rows[rel]
        assert row["reject_reason"] == reasons.SYMLINK
        assert row["kind"] == reasons.SYMLINK
        assert row["uri"] is None and row["language"] is None
        assert row["reject_detail"] == f"symbolic link to {target}"
    for path in rows:
        assert not path.startswith(("sub/up/", "sub/deep/here/", "sub_link/", "self/")), path
    assert len(rows) == 8 + 4


def test_symlink_out_of_the_input_is_reported_not_read(tree):
    os.symlink("/etc/passwd", tree / "passwd.py")
    row = listing(tree)["passwd.py"]
    assert row["reject_reason"] == reasons.SYMLINK
    assert "/etc/passwd" in row["reject_detail"]
    assert row["uri"] is None and row["size_bytes"] is None


def test_fifo_is_not_a_regular_file(tree):
    os.mkfifo(tree / "sub" / "pipe.py")
    row = listing(tree)["sub/pipe.py"]
    assert row["reject_reason"] == reasons.NOT_REGULAR_FILE
    assert "FIFO" in row["reject_detail"] and "'p'" in row["reject_detail"]
    assert row["uri"] is None


def test_file_name_that_is_not_utf8(tree):
    base = os.fsencode(str(tree))
    with open(base + b"/bad\xff.py", "wb") as f:
        f.write(b"x = 1\n")
    os.mkdir(base + b"/dir\xfe")
    with open(base + b"/dir\xfe/ok.py", "wb") as f:
        f.write(b"x = 1\n")
    rows = listing(tree)
    for rel in ("bad\\xff.py", "dir\\xfe/ok.py"):
        row = rows[rel]
        assert row["reject_reason"] == reasons.UNDECODABLE_PATH
        assert row["uri"] is None
        row["path"].encode("utf-8")  # printable: an Arrow string column can hold it
    pa.RecordBatch.from_pylist(list(rows.values()), schema=LISTING)


def test_file_over_max_read_bytes_is_rejected_at_listing(tree):
    with open(tree / "huge.py", "wb") as f:
        f.truncate(100 * 2**20)  # sparse: 100 MiB listed, nothing written
    _write(tree / "edge.py", b"x" * 1000)
    _write(tree / "over.py", b"x" * 1001)
    rows = listing(tree, dataclasses.replace(CFG, max_read_bytes=1000))
    huge = rows["huge.py"]
    assert huge["reject_reason"] == reasons.TOO_LARGE_TO_READ
    assert huge["size_bytes"] == 100 * 2**20 and huge["uri"] is None
    assert huge["language"] == "Python"
    assert "max_read_bytes=1000" in huge["reject_detail"]
    assert rows["over.py"]["reject_reason"] == reasons.TOO_LARGE_TO_READ
    assert rows["edge.py"]["reject_reason"] is None and rows["edge.py"]["uri"] is not None
    assert listing(tree)["huge.py"]["reject_reason"] == reasons.TOO_LARGE_TO_READ  # default: 8 MiB


def test_languages_allow_list(tree):
    rows = listing(tree, dataclasses.replace(CFG, languages=["Go"]))
    assert rows["a.py"]["reject_reason"] == reasons.LANGUAGE_NOT_SELECTED
    assert rows["a.py"]["reject_detail"] == "Python is not in ingest.languages"
    assert rows["a.py"]["uri"] is None
    assert rows["sub/deep/c.go"]["reject_reason"] is None
    assert rows["run"]["reject_reason"] is None  # its language is only known after reading


def test_archives_are_listed_as_archives(tree):
    _write(tree / "pkgs" / "lib-1.0.tar.gz", b"not really")
    _write(tree / "pkgs" / "lib.zip", b"PK")
    rows = listing(tree)
    assert rows["pkgs/lib-1.0.tar.gz"]["kind"] == "archive"
    assert rows["pkgs/lib.zip"]["kind"] == "archive" and rows["pkgs/lib.zip"]["uri"] is not None
    rows = listing(tree, dataclasses.replace(CFG, expand_archives=False))
    assert rows["pkgs/lib.zip"]["reject_reason"] == reasons.UNKNOWN_LANGUAGE


def test_repo_from_top_dir(tree):
    rows = listing(tree, dataclasses.replace(CFG, repo_from="top_dir"))
    assert rows["sub/deep/c.go"]["repo"] == "sub"
    assert rows["中文/模块.py"]["repo"] == "中文"
    assert rows["a.py"]["repo"] == "src"


def test_unreadable_folder_is_one_reject_row(tmp_path):
    rows = list(walk_local(WalkTask("src", str(tmp_path), "gone", True), CFG))
    assert len(rows) == 1
    assert rows[0]["path"] == "gone"
    assert rows[0]["reject_reason"] == reasons.UNREADABLE_DIR
    assert "FileNotFoundError" in rows[0]["reject_detail"]


def test_file_uri_root(tree):
    rows = [r for t in plan("src", "file://" + str(tree), CFG.skip_dirs) for r in walk_local(t, CFG)]
    assert {r["path"] for r in rows} == set(listing(tree))


def test_classify_directly():
    row = classify("s", "r", "x/y.rs", "/data/x/y.rs", 10, "file", CFG)
    assert (row["language"], row["reject_reason"], row["uri"]) == ("Rust", None, "/data/x/y.rs")
    row = classify("s", "r", "x/y.rs", "/data/x/y.rs", None, reasons.SYMLINK, CFG, "symbolic link to z")
    assert (row["reject_reason"], row["reject_detail"], row["uri"]) == (reasons.SYMLINK, "symbolic link to z", None)
    row = classify("s", "r", "bad\udcff.rs", "/data/bad", 10, "file", CFG)
    assert (row["path"], row["reject_reason"]) == ("bad\\xff.rs", reasons.UNDECODABLE_PATH)
    row = classify("s", "r", "big.rs", "/data/big.rs", CFG.max_read_bytes + 1, "file", CFG)
    assert row["reject_reason"] == reasons.TOO_LARGE_TO_READ and row["uri"] is None
    row = classify("s", "r", "big.zip", "/data/big.zip", 10 * CFG.max_read_bytes, "file", CFG)
    assert (row["kind"], row["reject_reason"]) == ("archive", None)  # archives are budgeted per member
