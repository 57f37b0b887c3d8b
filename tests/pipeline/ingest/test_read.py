"""Executor-side reading: listing rows to records with capped reads, and records to the files table."""
import codecs
import dataclasses
import hashlib
import os

import pyarrow as pa
import pytest

from pipeline import reasons
from pipeline.config import IngestConfig
from pipeline.ingest import fsio
from pipeline.ingest import read as read_mod
from pipeline.ingest.read import batched, read_listing_batches, records_from_listing
from pipeline.ingest.records import INGEST_SCHEMA, RawRecord, stable_id, to_files_batch
from pipeline.ingest.walk import plan, walk_local
from schemas import FILES, LISTING

CFG = IngestConfig()


def file_row(path, uri, size, language="Python", kind="file"):
    return {"source": "src", "repo": "src", "path": path, "uri": uri, "size_bytes": size, "kind": kind,
            "language": language, "reject_reason": None, "reject_detail": None}


@pytest.fixture
def counting_open(monkeypatch):
    """Wraps fsio.open_input so a test can see how many bytes every read asked for and got."""
    stats = {"opened": 0, "bytes": 0, "largest_request": 0}
    real = fsio.open_input

    class Counting:
        def __init__(self, f):
            self.f = f

        def read(self, n=-1):
            stats["largest_request"] = max(stats["largest_request"], n if n is not None and n >= 0 else 1 << 62)
            data = self.f.read(n)
            stats["bytes"] += len(data)
            return data

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def opener(uri):
        stats["opened"] += 1
        return Counting(real(uri))

    monkeypatch.setattr(fsio, "open_input", opener)
    return stats


def test_file_grown_past_the_cap_is_never_read_whole(tmp_path, counting_open):
    huge = tmp_path / "huge.py"
    with open(huge, "wb") as f:
        f.truncate(100 * 2**20)  # sparse 100 MiB; listed small, then grew
    cfg = dataclasses.replace(CFG, max_read_bytes=4096)
    (rec,) = records_from_listing(file_row("huge.py", str(huge), 10), cfg)
    assert rec.reject_reason == reasons.TOO_LARGE_TO_READ
    assert rec.data is None and "max_read_bytes=4096" in rec.reject_detail
    assert counting_open["opened"] == 1
    assert counting_open["bytes"] == 4097 and counting_open["largest_request"] == 4097


def test_file_at_the_cap_is_read(tmp_path, counting_open):
    (tmp_path / "edge.py").write_bytes(b"x" * 4096)
    cfg = dataclasses.replace(CFG, max_read_bytes=4096)
    (rec,) = records_from_listing(file_row("edge.py", str(tmp_path / "edge.py"), 4096), cfg)
    assert rec.reject_reason is None and rec.data == b"x" * 4096 and rec.size_bytes == 4096
    assert counting_open["largest_request"] == 4097


def test_listed_huge_file_is_not_opened(tmp_path, monkeypatch):
    with open(tmp_path / "huge.py", "wb") as f:
        f.truncate(100 * 2**20)
    (row,) = [r for t in plan("src", str(tmp_path), CFG.skip_dirs) for r in walk_local(t, CFG)]
    assert row["reject_reason"] == reasons.TOO_LARGE_TO_READ and row["uri"] is None
    monkeypatch.setattr(read_mod, "read_capped", lambda *a: pytest.fail("a rejected row was read"))
    (rec,) = records_from_listing(row, CFG)
    assert (rec.reject_reason, rec.size_bytes, rec.data) == (reasons.TOO_LARGE_TO_READ, 100 * 2**20, None)
    assert rec.reject_detail == row["reject_detail"]


def test_vanished_file_is_a_read_error(tmp_path):
    (rec,) = records_from_listing(file_row("gone.py", str(tmp_path / "gone.py"), 5), CFG)
    assert rec.reject_reason == reasons.READ_ERROR and "FileNotFoundError" in rec.reject_detail


def test_archive_row_expands_to_members(tmp_path):
    import io
    import tarfile

    with tarfile.open(tmp_path / "p.tar.gz", "w:gz") as tar:
        for name in ("a.py", "b.py"):
            info = tarfile.TarInfo(name)
            info.size = 6
            tar.addfile(info, io.BytesIO(b"x = 1\n"))
    recs = list(records_from_listing(file_row("p.tar.gz", str(tmp_path / "p.tar.gz"), 100, None, "archive"), CFG))
    assert [(r.path, r.repo, r.data) for r in recs] == [("a.py", "p", b"x = 1\n"), ("b.py", "p", b"x = 1\n")]


# --- a hostile tree end to end (no Spark): walk -> listing batches -> read -> files table ----------------

@pytest.fixture
def hostile(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    files = {
        "ok.py": b"def f():\n    return 1\n",
        "elf.py": b"\x7fELF\x02\x01\x01\x00" + bytes(64),
        "png.py": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "latin1.py": "s = 'café'\n".encode("latin-1"),
        "utf16le.py": codecs.BOM_UTF16_LE + "s = '中'\n".encode("utf-16-le"),
        "utf16be.py": codecs.BOM_UTF16_BE + "s = '中'\n".encode("utf-16-be"),
        "utf32.py": codecs.BOM_UTF32_LE + "s = '中'\n".encode("utf-32-le"),
        "bom8.py": codecs.BOM_UTF8 + b"s = 1\n",
        "nul.py": b"x = 1\n" * 50 + b"\x00y = 2\n",
        "empty.py": b"",
        "blank.py": b" \n\t\n",
        "long.js": b"a" * 2_000_000,
        "many.c": b"int x;\n" * 12_345,
        "run": b"#!/usr/bin/env python3\nprint(1)\n",
        "noshebang": b"just words\n",
        "new\nline.py": b"n = 1\n",
        "模块.py": "名字 = 1\n".encode(),
        "pic.xyz": b"whatever",
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    os.symlink("/etc/passwd", root / "passwd.py")
    os.mkfifo(root / "fifo.py")
    with open(os.fsencode(str(root)) + b"/bad\xff.py", "wb") as f:
        f.write(b"x = 1\n")
    return root


def run_ingest(root, cfg=CFG, max_rows=7, max_bytes=1 << 30):
    listing = [r for t in plan("src", str(root), cfg.skip_dirs) for r in walk_local(t, cfg)]
    batches = [pa.RecordBatch.from_pylist(listing[i:i + 5], schema=LISTING) for i in range(0, len(listing), 5)]
    out = list(read_listing_batches(iter(batches), cfg, max_rows=max_rows, max_bytes=max_bytes))
    assert all(b.schema == INGEST_SCHEMA for b in out)
    table = pa.Table.from_batches(out, schema=INGEST_SCHEMA)
    assert table.num_rows == len(listing)  # rows in = rows out: nothing is dropped silently
    assert table.column("path").to_pylist() == [r["path"] for r in listing]  # in order
    return {r["path"]: r for r in table.to_pylist()}


def test_hostile_tree_every_row_has_a_verdict(hostile):
    rows = run_ingest(hostile)
    expected = {
        "ok.py": None, "elf.py": reasons.BINARY, "png.py": reasons.BINARY, "latin1.py": reasons.UNDECODABLE,
        "utf16le.py": None, "utf16be.py": None, "utf32.py": None, "bom8.py": None, "nul.py": reasons.NUL_BYTES,
        "empty.py": reasons.EMPTY, "blank.py": reasons.EMPTY, "long.js": None, "many.c": None, "run": None,
        "noshebang": reasons.UNKNOWN_LANGUAGE, "new\nline.py": None, "模块.py": None,
        "pic.xyz": reasons.UNKNOWN_LANGUAGE, "passwd.py": reasons.SYMLINK, "fifo.py": reasons.NOT_REGULAR_FILE,
        "bad\\xff.py": reasons.UNDECODABLE_PATH,
    }
    assert {p: r["reject_reason"] for p, r in rows.items()} == expected
    for path, row in rows.items():
        if row["reject_reason"] is None:
            assert row["content"] is not None and row["content_sha256"] is not None
        else:
            assert row["content"] is None and row["content_sha256"] is None and row["n_lines"] is None
    assert "ELF" in rows["elf.py"]["reject_detail"] and "PNG" in rows["png.py"]["reject_detail"]


def test_hostile_tree_decodes_and_measures(hostile):
    rows = run_ingest(hostile)
    for name, codec in [("utf16le.py", "utf-16-le"), ("utf16be.py", "utf-16-be"), ("utf32.py", "utf-32-le")]:
        row = rows[name]
        assert (row["content"], row["encoding"]) == ("s = '中'\n", codec)
        assert row["size_bytes"] == len("s = '中'\n".encode())  # bytes of the UTF-8 content, not the raw file
    assert rows["bom8.py"]["content"] == "s = 1\n" and rows["bom8.py"]["size_bytes"] == 6
    assert rows["latin1.py"]["size_bytes"] == 11  # raw size when not decoded
    long = rows["long.js"]
    assert (long["n_lines"], long["max_line_len"], long["avg_line_len"]) == (1, 2_000_000, 2_000_000.0)
    assert long["language"] == "JavaScript"
    many = rows["many.c"]
    assert (many["n_lines"], many["max_line_len"], many["size_bytes"]) == (12_345, 6, 7 * 12_345)
    assert rows["run"]["language"] == "Python"
    assert "'noshebang'" in rows["noshebang"]["reject_detail"]
    assert rows["new\nline.py"]["content"] == "n = 1\n" and rows["模块.py"]["content"] == "名字 = 1\n"
    assert rows["passwd.py"]["size_bytes"] is None and "/etc/passwd" in rows["passwd.py"]["reject_detail"]


def test_hostile_tree_with_a_language_allow_list(hostile):
    rows = run_ingest(hostile, dataclasses.replace(CFG, languages=["Python"]))
    assert rows["long.js"]["reject_reason"] == reasons.LANGUAGE_NOT_SELECTED
    assert rows["many.c"]["reject_reason"] == reasons.LANGUAGE_NOT_SELECTED
    assert rows["run"]["reject_reason"] is None and rows["ok.py"]["reject_reason"] is None


def test_batches_are_bounded_by_rows_and_bytes():
    recs = [RawRecord("s", "r", f"f{i}.py", b"x = 1\n" * 100) for i in range(10)]
    sizes = [b.num_rows for b in batched(recs, CFG, max_rows=4, max_bytes=1 << 30)]
    assert sizes == [4, 4, 2]
    sizes = [b.num_rows for b in batched(recs, CFG, max_rows=100, max_bytes=1500)]
    assert sizes == [3, 3, 3, 1]


# --- to_files_batch -------------------------------------------------------------------------------------

def test_files_batch_schema_order_and_values():
    recs = [RawRecord("s", "r", "b.py", b"x = 1\n"), RawRecord("s", "r", "a.py", "y = 2\n"),
            RawRecord("s", "r", "c.py", None, 99, "Python", reasons.SYMLINK, "symbolic link to x")]
    batch = to_files_batch(recs)
    assert batch.schema == INGEST_SCHEMA
    assert [f.name for f in batch.schema][: len(FILES)] == FILES.names
    rows = batch.to_pylist()
    assert [r["path"] for r in rows] == ["b.py", "a.py", "c.py"]
    assert rows[0]["content_sha256"] == hashlib.sha256(b"x = 1\n").hexdigest()
    assert rows[1]["content_sha256"] == hashlib.sha256(b"y = 2\n").hexdigest()
    assert rows[0]["encoding"] == "utf-8" and rows[1]["encoding"] == "utf-8" and rows[2]["encoding"] is None
    assert rows[0]["size_bytes"] == 6 and rows[2]["size_bytes"] == 99
    assert (rows[0]["n_lines"], rows[0]["max_line_len"], rows[0]["avg_line_len"]) == (1, 5, 5.0)
    assert rows[0]["alnum_frac"] == pytest.approx(2 / 6)
    assert rows[2]["reject_reason"] == reasons.SYMLINK and rows[2]["reject_detail"] == "symbolic link to x"
    assert rows[2]["language"] == "Python" and rows[2]["content"] is None and rows[2]["alnum_frac"] is None


def test_stable_ids():
    def ids(recs):
        return to_files_batch(recs).column("id").to_pylist()

    base = RawRecord("s", "r", "a.py", b"x = 1\n")
    first = ids([base, base._replace(data=b"x = 2\n"), base._replace(path="b.py"), base._replace(repo="q"),
                 base._replace(source="t"), base._replace(data=codecs.BOM_UTF8 + b"x = 1\n")])
    assert first == ids([base, base._replace(data=b"x = 2\n"), base._replace(path="b.py"), base._replace(repo="q"),
                         base._replace(source="t"), base._replace(data=codecs.BOM_UTF8 + b"x = 1\n")])
    assert len(set(first[:5])) == 5  # content, path, repo and source each change the id
    assert first[5] == first[0]  # the id follows the decoded content, not the raw bytes
    assert first[0] == stable_id("s", "r", "a.py", hashlib.sha256(b"x = 1\n").hexdigest())
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in first)


def test_empty_batch():
    batch = to_files_batch([])
    assert batch.num_rows == 0 and batch.schema == INGEST_SCHEMA
