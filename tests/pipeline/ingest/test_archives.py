"""tar and zip members: path checks, links, budgets, bombs, lying headers and corrupt streams end in reasons."""
import dataclasses
import io
import random
import stat
import struct
import tarfile
import tracemalloc
import zipfile

import pytest

from pipeline import reasons
from pipeline.config import IngestConfig
from pipeline.ingest.archives import archive_stem, is_archive, read_archive, unsafe_member
from pipeline.ingest.records import INGEST_SCHEMA, to_files_batch

CFG = IngestConfig()


def _text(seed: int, n: int) -> bytes:
    """n bytes of code-like text that does not compress away (so a cut lands inside the members)."""
    rng = random.Random(seed)
    out = bytearray()
    while len(out) < n:
        out += f"v{rng.getrandbits(64):x} = {rng.getrandbits(64)}\n".encode()
    return bytes(out[:n])


def make_tar(path, members, mode="w"):
    """members: (name, data) for files, or (name, TarInfo type, linkname) for links and special files."""
    with tarfile.open(path, mode, format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape") as tar:
        for m in members:
            info = tarfile.TarInfo(m[0])
            if len(m) == 2:
                info.size = len(m[1])
                tar.addfile(info, io.BytesIO(m[1]))
            else:
                info.type, info.linkname = m[1], m[2]
                tar.addfile(info)
    return str(path)


def make_zip(path, members, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return str(path)


def read(path, cfg=CFG, archive_path=None):
    recs = list(read_archive("src", archive_path or str(path).rsplit("/", 1)[-1], str(path), cfg))
    batch = to_files_batch(recs)  # every record, however hostile, must fit the files table
    assert batch.schema == INGEST_SCHEMA and batch.num_rows == len(recs)
    return recs


def by_path(recs):
    return {r.path: r for r in recs}


@pytest.mark.parametrize("suffix, mode", [(".tar", "w"), (".tar.gz", "w:gz"), (".tgz", "w:gz"),
                                          (".tar.bz2", "w:bz2"), (".tar.xz", "w:xz")])
def test_tar_members_are_read(tmp_path, suffix, mode):
    path = make_tar(tmp_path / f"pkg-1.0{suffix}", [("pkg/a.py", b"x = 1\n"), ("pkg/b.go", b"package b\n")], mode)
    recs = read(path, archive_path=f"deps/pkg-1.0{suffix}")
    assert [(r.path, r.data, r.language, r.repo, r.reject_reason) for r in recs] == [
        ("pkg/a.py", b"x = 1\n", "Python", "deps/pkg-1.0", None),
        ("pkg/b.go", b"package b\n", "Go", "deps/pkg-1.0", None),
    ]
    assert recs[0].size_bytes == 6


def test_zip_members_are_read(tmp_path):
    path = make_zip(tmp_path / "lib.zip", [("lib/", b""), ("lib/m.rs", b"fn main() {}\n"), ("lib/中文.py", b"x=1\n")])
    recs = read(path)
    assert [(r.path, r.data, r.language, r.repo) for r in recs] == [
        ("lib/m.rs", b"fn main() {}\n", "Rust", "lib"), ("lib/中文.py", b"x=1\n", "Python", "lib")]


def test_names_and_stems():
    assert is_archive("a/B.TAR.GZ") and is_archive("x.zip") and is_archive("x.tbz2")
    assert not is_archive("x.gz") and not is_archive("x.py")
    assert archive_stem("pkgs/foo-1.0.tar.gz") == "pkgs/foo-1.0"
    assert archive_stem("Foo.ZIP") == "Foo"
    assert unsafe_member("a/b.py") is None
    for bad in ("../evil.py", "a/../../evil.py", "/abs/evil.py", "\\evil.py", "C:/evil.py", "a\\..\\evil.py"):
        assert unsafe_member(bad), bad


# --- corrupt streams ---------------------------------------------------------------------------------------

@pytest.fixture
def big_tgz(tmp_path):
    members = [(f"m{i}.py", _text(i, 20_000)) for i in range(6)]
    return make_tar(tmp_path / "big.tar.gz", members, "w:gz"), dict(members)


def test_truncated_tar_gz_keeps_members_read_before_the_cut(tmp_path, big_tgz):
    path, members = big_tgz
    raw = open(path, "rb").read()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(raw[: len(raw) * 6 // 10])
    recs = read(cut)
    *good, last = recs
    assert last.reject_reason == reasons.CORRUPT_ARCHIVE
    assert last.path == "cut.tar.gz" and last.data is None
    assert f"after {len(good)} members" in last.reject_detail
    assert 1 <= len(good) < 6
    for r in good:
        assert r.reject_reason is None and r.data == members[r.path]


def test_garbage_inside_tar_gz(tmp_path, big_tgz):
    path, members = big_tgz
    raw = bytearray(open(path, "rb").read())
    mid = len(raw) // 2
    raw[mid:mid + 64] = bytes(range(64, 128))
    (tmp_path / "bad.tar.gz").write_bytes(bytes(raw))
    recs = read(tmp_path / "bad.tar.gz")
    assert recs[-1].reject_reason == reasons.CORRUPT_ARCHIVE
    assert 1 <= len(recs) - 1 < 6
    # members wholly before the damage come through intact; deflate has no check of its own before the gzip
    # trailer, so the member inflated across the damage may be altered: the archive's reject row flags it
    assert recs[0].path == "m0.py" and recs[0].data == members["m0.py"]


def test_damage_that_inflates_cleanly_is_caught_by_the_gzip_crc(tmp_path):
    # stored (level 0) deflate blocks: altered bytes inflate without error and only the CRC can tell
    members = [(f"m{i}.py", b"x = 1\n" * 500) for i in range(3)]
    with tarfile.open(tmp_path / "s.tar.gz", "w:gz", compresslevel=0) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    raw = bytearray((tmp_path / "s.tar.gz").read_bytes())
    at = raw.rindex(b"x = 1\n")
    raw[at:at + 5] = b"y = 2"
    (tmp_path / "s.tar.gz").write_bytes(bytes(raw))
    recs = read(tmp_path / "s.tar.gz")
    assert [r.path for r in recs[:3]] == ["m0.py", "m1.py", "m2.py"]
    assert recs[3].reject_reason == reasons.CORRUPT_ARCHIVE and "CRC" in recs[3].reject_detail
    assert "after 3 members" in recs[3].reject_detail


def test_tar_gz_without_its_gzip_trailer(tmp_path, big_tgz):
    path, members = big_tgz
    raw = open(path, "rb").read()
    (tmp_path / "t.tar.gz").write_bytes(raw[:-8])  # CRC and length gone: the stream is cut short
    *good, last = read(tmp_path / "t.tar.gz")
    assert last.reject_reason == reasons.CORRUPT_ARCHIVE and "EOFError" in last.reject_detail
    # the reader runs ahead of the member it hands out, so the last member may fall with the trailer
    assert len(good) >= 5 and all(r.data == members[r.path] for r in good)


def test_not_gzip_at_all(tmp_path):
    (tmp_path / "x.tar.gz").write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4)
    recs = read(tmp_path / "x.tar.gz")
    assert [r.reject_reason for r in recs] == [reasons.CORRUPT_ARCHIVE]
    assert "after 0 members" in recs[0].reject_detail


def test_empty_archive_files_are_corrupt(tmp_path):
    (tmp_path / "e.tar").write_bytes(b"")
    (tmp_path / "e.zip").write_bytes(b"")
    assert [r.reject_reason for r in read(tmp_path / "e.tar")] == [reasons.CORRUPT_ARCHIVE]
    assert [r.reject_reason for r in read(tmp_path / "e.zip")] == [reasons.CORRUPT_ARCHIVE]


@pytest.mark.parametrize("cut_blocks, n_good", [(3, 1), (3 + 1, 1), (6, 2), (15, 5)])
def test_tar_cut_at_a_header_is_not_a_quiet_end(tmp_path, cut_blocks, n_good):
    # each member: one header block + two data blocks; a cut at or inside a header used to end the
    # archive silently (tarfile reads it as the end), losing every later member without a word
    path = make_tar(tmp_path / "t.tar", [(f"m{i}.py", b"x = 1\n" * 150) for i in range(5)])
    raw = open(path, "rb").read()
    (tmp_path / "cut.tar").write_bytes(raw[: cut_blocks * 512 + (100 if cut_blocks == 4 else 0)])
    recs = read(tmp_path / "cut.tar")
    assert [r.reject_reason for r in recs] == [None] * n_good + [reasons.CORRUPT_ARCHIVE]


def test_tar_with_a_garbled_header_is_not_a_quiet_end(tmp_path):
    path = make_tar(tmp_path / "t.tar", [(f"m{i}.py", b"x = 1\n" * 150) for i in range(5)])
    raw = bytearray(open(path, "rb").read())
    raw[2 * 1536: 2 * 1536 + 100] = b"\xff" * 100  # the third member's header
    (tmp_path / "g.tar").write_bytes(bytes(raw))
    recs = read(tmp_path / "g.tar")
    assert [r.path for r in recs[:2]] == ["m0.py", "m1.py"]
    assert recs[2].reject_reason == reasons.CORRUPT_ARCHIVE and "bad checksum" in recs[2].reject_detail
    assert len(recs) == 3


def test_complete_tar_ends_cleanly(tmp_path):
    path = make_tar(tmp_path / "t.tar", [(f"m{i}.py", b"x = 1\n") for i in range(3)])
    assert [r.reject_reason for r in read(path)] == [None, None, None]


def test_corrupt_and_truncated_zip(tmp_path):
    path = make_zip(tmp_path / "z.zip", [("a.py", b"x = 1\n" * 100)])
    raw = open(path, "rb").read()
    (tmp_path / "cut.zip").write_bytes(raw[: len(raw) // 2])
    recs = read(tmp_path / "cut.zip")
    assert [r.reject_reason for r in recs] == [reasons.CORRUPT_ARCHIVE]
    assert "BadZipFile" in recs[0].reject_detail


# --- unsafe paths, links, special members -----------------------------------------------------------------

def test_tar_members_that_climb_out_are_never_read(tmp_path, monkeypatch):
    path = make_tar(tmp_path / "evil.tar", [("../evil.py", b"import os\n"), ("/abs/evil.py", b"import os\n"),
                                           ("ok/../../evil.py", b"import os\n"), ("ok.py", b"x = 1\n")])
    extracted = []
    real = tarfile.TarFile.extractfile
    monkeypatch.setattr(tarfile.TarFile, "extractfile", lambda self, m: extracted.append(m.name) or real(self, m))
    recs = by_path(read(path))
    for name in ("../evil.py", "/abs/evil.py", "ok/../../evil.py"):
        assert recs[name].reject_reason == reasons.UNSAFE_ARCHIVE_PATH
        assert recs[name].data is None
    assert "'..'" in recs["../evil.py"].reject_detail
    assert "absolute" in recs["/abs/evil.py"].reject_detail
    assert extracted == ["ok.py"]
    assert recs["ok.py"].data == b"x = 1\n"


def test_zip_members_that_climb_out(tmp_path):
    path = make_zip(tmp_path / "evil.zip", [("../evil.py", b"x"), ("/abs/evil.py", b"x"), ("ok.py", b"x = 1\n")])
    recs = by_path(read(path))
    assert recs["../evil.py"].reject_reason == reasons.UNSAFE_ARCHIVE_PATH
    assert recs["/abs/evil.py"].reject_reason == reasons.UNSAFE_ARCHIVE_PATH
    assert recs["ok.py"].reject_reason is None


def test_tar_links_and_special_members(tmp_path):
    path = make_tar(tmp_path / "links.tar", [
        ("a.py", b"x = 1\n"),
        ("sym.py", tarfile.SYMTYPE, "/etc/passwd"),
        ("hard.py", tarfile.LNKTYPE, "a.py"),
        ("fifo.py", tarfile.FIFOTYPE, ""),
        ("dev.py", tarfile.CHRTYPE, ""),
    ])
    recs = by_path(read(path))
    assert recs["sym.py"].reject_reason == reasons.SYMLINK and "/etc/passwd" in recs["sym.py"].reject_detail
    assert recs["hard.py"].reject_reason == reasons.SYMLINK
    assert recs["fifo.py"].reject_reason == reasons.NOT_REGULAR_FILE
    assert recs["dev.py"].reject_reason == reasons.NOT_REGULAR_FILE
    assert all(r.data is None for p, r in recs.items() if p != "a.py")


def test_zip_member_symlink(tmp_path):
    path = tmp_path / "links.zip"
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("link.py")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
        zf.writestr("a.py", "x = 1\n")
    recs = by_path(read(path))
    assert recs["link.py"].reject_reason == reasons.SYMLINK and recs["link.py"].data is None
    assert recs["a.py"].data == b"x = 1\n"


def test_member_names_that_are_not_utf8(tmp_path):
    path = make_tar(tmp_path / "names.tar", [
        ("bad\udcff.py", b"x = 1\n"),                      # written back as the raw byte 0xff
        ("link\udcfe.py", tarfile.SYMTYPE, "t\udcfd"),
        ("new\nline.py", b"n = 1\n"),
        ("模块/名字.py", b"m = 1\n"),
    ])
    recs = by_path(read(path))  # read() also proves the batch can hold every path
    assert recs["bad\\xff.py"].reject_reason == reasons.UNDECODABLE_PATH
    assert recs["link\\xfe.py"].reject_reason == reasons.SYMLINK
    assert recs["new\nline.py"].data == b"n = 1\n"
    assert recs["模块/名字.py"].data == b"m = 1\n"


def test_unknown_extension_and_language_allow_list_are_not_read(tmp_path):
    members = [("logo.png", b"\x89PNG\r\n"), ("a.py", b"x = 1\n"), ("b.go", b"package b\n"),
               ("tool", b"#!/usr/bin/env python3\nprint(1)\n")]
    cfg = dataclasses.replace(CFG, languages=["Go"])
    for path in (make_tar(tmp_path / "m.tar", members), make_zip(tmp_path / "m.zip", members)):
        recs = by_path(read(path, cfg))
        assert recs["logo.png"].reject_reason == reasons.UNKNOWN_LANGUAGE and recs["logo.png"].data is None
        assert recs["a.py"].reject_reason == reasons.LANGUAGE_NOT_SELECTED and recs["a.py"].data is None
        assert recs["b.go"].data == b"package b\n"
        assert recs["tool"].reject_reason is None and recs["tool"].language is None  # decided by its shebang
        rows = {r["path"]: r for r in to_files_batch(list(recs.values()), frozenset(cfg.languages)).to_pylist()}
        assert rows["tool"]["language"] == "Python"
        assert rows["tool"]["reject_reason"] == reasons.LANGUAGE_NOT_SELECTED


# --- sizes and budgets ------------------------------------------------------------------------------------

def test_tar_member_over_max_read_bytes_is_not_read(tmp_path):
    path = make_tar(tmp_path / "t.tar.gz", [("big.py", b"x" * 5000), ("small.py", b"y = 1\n")], "w:gz")
    recs = by_path(read(path, dataclasses.replace(CFG, max_read_bytes=1000)))
    assert recs["big.py"].reject_reason == reasons.TOO_LARGE_TO_READ
    assert recs["big.py"].data is None and recs["big.py"].size_bytes == 5000
    assert recs["small.py"].data == b"y = 1\n"


def _zeros_zip(path, name, n_bytes):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open(name, "w", force_zip64=False) as f:
        chunk = bytes(1 << 20)
        for _ in range(n_bytes >> 20):
            f.write(chunk)
    return str(path)


def test_zip_bomb_member_is_not_decompressed(tmp_path):
    path = _zeros_zip(tmp_path / "bomb.zip", "zeros.py", 50 << 20)
    assert (tmp_path / "bomb.zip").stat().st_size < 200_000
    tracemalloc.start()
    try:
        recs = read(path, dataclasses.replace(CFG, max_read_bytes=1 << 20))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(r.reject_reason, r.size_bytes, r.data) for r in recs] == [(reasons.TOO_LARGE_TO_READ, 50 << 20, None)]
    assert peak < 8 << 20


def test_zip_header_that_understates_its_size(tmp_path):
    path = _zeros_zip(tmp_path / "liar.zip", "zeros.py", 50 << 20)
    raw = bytearray(open(path, "rb").read())
    central = raw.rfind(b"PK\x01\x02")
    assert raw[:4] == b"PK\x03\x04" and central > 0
    struct.pack_into("<I", raw, 22, 10)            # local header: uncompressed size
    struct.pack_into("<I", raw, central + 24, 10)  # central directory: uncompressed size
    (tmp_path / "liar.zip").write_bytes(bytes(raw))
    tracemalloc.start()
    try:
        recs = read(tmp_path / "liar.zip", dataclasses.replace(CFG, max_read_bytes=1000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # the 50 MB behind the lie were never inflated
    assert all(r.data is None or len(r.data) <= 1001 for r in recs)
    assert recs[-1].reject_reason == reasons.CORRUPT_ARCHIVE and "CRC" in recs[-1].reject_detail


def test_encrypted_zip_member_is_a_read_error(tmp_path):
    path = make_zip(tmp_path / "enc.zip", [("a.py", b"x = 1\n"), ("b.py", b"y = 2\n")], zipfile.ZIP_STORED)
    raw = bytearray(open(path, "rb").read())
    raw[6] |= 1  # first local header: general purpose flag bit 0, "encrypted"
    central = raw.find(b"PK\x01\x02")
    raw[central + 8] |= 1
    (tmp_path / "enc.zip").write_bytes(bytes(raw))
    recs = by_path(read(tmp_path / "enc.zip"))
    assert recs["a.py"].reject_reason == reasons.READ_ERROR and "encrypted" in recs["a.py"].reject_detail
    assert recs["b.py"].data == b"y = 2\n"


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_many_members_past_max_archive_bytes(tmp_path, kind):
    members = [(f"m{i:02d}.py", b"x = 1\n" * 150) for i in range(20)]  # 900 bytes each
    path = (make_zip(tmp_path / "many.zip", members) if kind == "zip"
            else make_tar(tmp_path / "many.tar.gz", members, "w:gz"))
    recs = read(path, dataclasses.replace(CFG, max_archive_bytes=5000))
    assert [r.reject_reason for r in recs] == [None] * 5 + [reasons.ARCHIVE_BUDGET_EXCEEDED]
    assert "after 5 members" in recs[-1].reject_detail
    assert "max_archive_bytes=5000" in recs[-1].reject_detail


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_max_archive_members(tmp_path, kind):
    members = [(f"m{i}.py", b"x = 1\n") for i in range(10)] + [(f"n{i}.png", b"\x89PNG") for i in range(10)]
    path = make_zip(tmp_path / "m.zip", members) if kind == "zip" else make_tar(tmp_path / "m.tar", members)
    recs = read(path, dataclasses.replace(CFG, max_archive_members=12))
    assert len(recs) == 13
    assert recs[-1].reject_reason == reasons.ARCHIVE_BUDGET_EXCEEDED
    assert [r.reject_reason for r in recs[10:12]] == [reasons.UNKNOWN_LANGUAGE] * 2
