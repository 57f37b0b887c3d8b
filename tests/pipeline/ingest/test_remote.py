"""The non-local code path (object stores, HDFS) of listing, reading and input resolution, over a pyarrow filesystem."""
from __future__ import annotations

import pytest
from pyarrow import fs as pafs

from pipeline import reasons
from pipeline.config import IngestConfig
from pipeline.ingest import fsio, inputs, walk
from pipeline.ingest.read import records_from_listing


@pytest.fixture
def bucket(tmp_path, monkeypatch):
    """s3a://bucket/... served by a local folder through pyarrow's SubTreeFileSystem."""
    tree = tmp_path / "bucket" / "repo"
    (tree / "src").mkdir(parents=True)
    (tree / "src" / "a.py").write_text("def a():\n    return 1\n")
    (tree / "src" / "logo.png").write_bytes(b"\x89PNG")
    (tree / ".git").mkdir()
    (tree / ".git" / "config").write_text("[core]\n")
    (tree / "top.go").write_text("package main\n")
    local = pafs.SubTreeFileSystem(str(tmp_path), pafs.LocalFileSystem())

    def fake_arrow_fs(uri: str):
        assert uri.startswith("s3a://"), uri
        return local, uri[len("s3a://"):]
    monkeypatch.setattr(fsio, "arrow_fs", fake_arrow_fs)
    monkeypatch.setattr(walk, "arrow_fs", fake_arrow_fs)
    monkeypatch.setattr(inputs, "arrow_fs", fake_arrow_fs)
    return "s3a://bucket/repo"


def test_remote_tree_is_planned_walked_and_read(bucket):
    cfg = IngestConfig()
    [source] = inputs.resolve([f"r={bucket}"], "auto")
    assert source == inputs.Source("r", bucket, "tree")
    tasks = walk.plan("r", bucket, cfg.skip_dirs)
    assert [(t.rel_dir, t.recursive) for t in tasks] == [("", False), ("src", True)]  # .git never planned
    rows = {r["path"]: r for t in tasks for r in walk.walk(t, cfg)}
    assert sorted(rows) == ["src/a.py", "src/logo.png", "top.go"]
    assert rows["src/a.py"]["uri"] == "s3a://bucket/repo/src/a.py"
    assert rows["src/logo.png"]["reject_reason"] == reasons.UNKNOWN_LANGUAGE and rows["src/logo.png"]["uri"] is None
    [rec] = list(records_from_listing(rows["src/a.py"], cfg))
    assert rec.data == b"def a():\n    return 1\n" and rec.language == "Python"


def test_remote_input_that_does_not_exist(bucket):
    from common.typed_config import ConfigError

    with pytest.raises(ConfigError, match="input not found: s3a://bucket/nope"):
        inputs.resolve(["s3a://bucket/nope"], "auto")


def test_unknown_scheme_is_a_clear_error():
    with pytest.raises(ValueError, match="no reader for URI scheme 'ftp'"):
        fsio.arrow_fs("ftp://host/x")
