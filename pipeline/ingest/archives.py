"""tar and zip archives read member by member in memory, with path checks and decompression budgets."""
from __future__ import annotations

import gzip
import stat
import tarfile
import zipfile
import zlib
from typing import Iterator

from pipeline import reasons
from pipeline.config import IngestConfig
from pipeline.ingest import language as lang
from pipeline.ingest.admit import before_read, printable_name
from pipeline.ingest.fsio import open_input
from pipeline.ingest.records import RawRecord

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz")
ZIP_SUFFIXES = (".zip",)
_CORRUPT = (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)


def is_archive(path: str) -> bool:
    return path.lower().endswith(TAR_SUFFIXES + ZIP_SUFFIXES)


def archive_stem(path: str) -> str:
    """`pkgs/foo-1.0.tar.gz` -> `pkgs/foo-1.0`: the repo name of the archive's members."""
    low = path.lower()
    for suffix in sorted(TAR_SUFFIXES + ZIP_SUFFIXES, key=len, reverse=True):
        if low.endswith(suffix):
            return path[: -len(suffix)]
    return path


def unsafe_member(name: str) -> str | None:
    """Why a member name could escape an extraction folder, or None when it is safe."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return f"absolute member path {name!r}"
    if ".." in name.replace("\\", "/").split("/"):
        return f"member path {name!r} climbs out with '..'"
    return None


class _Budget:
    """Decompressed bytes and members still allowed for one archive."""

    def __init__(self, cfg: IngestConfig):
        self.bytes_left, self.members_left = cfg.max_archive_bytes, cfg.max_archive_members

    def spend(self, n_bytes: int) -> bool:
        self.members_left -= 1
        self.bytes_left -= n_bytes
        return self.bytes_left >= 0 and self.members_left >= 0


def read_archive(source: str, archive_path: str, uri: str, cfg: IngestConfig) -> Iterator[RawRecord]:
    """Every member of one archive as a record (file, or reject); a broken archive ends in one reject row."""
    repo = archive_stem(archive_path)
    reader = _zip_members if archive_path.lower().endswith(ZIP_SUFFIXES) else _tar_members
    emitted = 0
    try:
        for rec in reader(source, repo, uri, cfg):
            emitted += 1
            yield rec
    except _CORRUPT as e:
        yield RawRecord(source, repo, archive_path, None, reject_reason=reasons.CORRUPT_ARCHIVE,
                        reject_detail=f"{type(e).__name__}: {e} (after {emitted} members)")
    except _BudgetExceeded as e:
        yield RawRecord(source, repo, archive_path, None, reject_reason=reasons.ARCHIVE_BUDGET_EXCEEDED,
                        reject_detail=f"{e} (after {emitted} members; the rest were not read)")


class _BudgetExceeded(Exception):
    pass


class _StrictTarInfo(tarfile.TarInfo):
    """tarfile takes a missing, cut or garbled header after the first as a quiet end; here it is corruption."""

    @classmethod
    def fromtarfile(cls, tf):
        try:
            return super().fromtarfile(tf)
        except (tarfile.EmptyHeaderError, tarfile.TruncatedHeaderError, tarfile.InvalidHeaderError) as e:
            if tf.offset == 0:
                raise
            raise tarfile.ReadError(f"no valid header or end-of-archive marker at byte {tf.offset}: "
                                    f"{e or 'end of data'}") from None


def _precheck(source: str, repo: str, name: str, size: int, cfg: IngestConfig) -> RawRecord | None:
    """A reject for a member that must not be read (unsafe path, unknown language, too large), else None."""
    why = unsafe_member(name)
    if why:
        return RawRecord(source, repo, name, None, size, reject_reason=reasons.UNSAFE_ARCHIVE_PATH, reject_detail=why)
    printable, decodable = printable_name(name)
    if not decodable:
        return RawRecord(source, repo, printable, None, size, reject_reason=reasons.UNDECODABLE_PATH,
                         reject_detail="member name is not UTF-8")
    verdict = before_read(name, size, cfg)
    if verdict.reason:
        return RawRecord(source, repo, name, None, size, verdict.language, verdict.reason, verdict.detail)
    return None


def _tar_members(source: str, repo: str, uri: str, cfg: IngestConfig) -> Iterator[RawRecord]:
    budget = _Budget(cfg)
    with open_input(uri) as f:
        gzipped = f.read(2) == b"\x1f\x8b"
        f.seek(0)
        # gzip goes through GzipFile, which checks the CRC and length that tarfile's own stream reader skips
        stream = gzip.GzipFile(fileobj=f, mode="rb") if gzipped else f
        with tarfile.open(fileobj=stream, mode="r|*", tarinfo=_StrictTarInfo) as tar:  # a stream: never seeks
            for member in tar:
                tar.members = []  # a stream keeps every header it has seen; a million members would add up
                name = member.name
                if member.isdir():
                    continue
                if member.issym() or member.islnk():
                    yield RawRecord(source, repo, printable_name(name)[0], None, reject_reason=reasons.SYMLINK,
                                    reject_detail=f"link in archive to {member.linkname!r}")
                    continue
                if not member.isreg():
                    yield RawRecord(source, repo, printable_name(name)[0], None, reject_reason=reasons.NOT_REGULAR_FILE,
                                    reject_detail="device, FIFO or other special member")
                    continue
                # skipped members are still decompressed to move past them, so they spend the budget too
                if not budget.spend(member.size):
                    raise _BudgetExceeded(f"more than ingest.max_archive_bytes={cfg.max_archive_bytes} bytes or "
                                          f"ingest.max_archive_members={cfg.max_archive_members} members")
                early = _precheck(source, repo, name, member.size, cfg)
                if early is not None:
                    yield early
                    continue
                data = tar.extractfile(member).read(cfg.max_read_bytes + 1)
                yield RawRecord(source, repo, name, data, len(data), lang.from_path(name))
        if gzipped:  # on to the gzip trailer, where a CRC mismatch shows (within what the budget has left)
            left = max(budget.bytes_left, 0) + (1 << 20)
            while left > 0 and (chunk := stream.read(1 << 16)):
                left -= len(chunk)


def _zip_members(source: str, repo: str, uri: str, cfg: IngestConfig) -> Iterator[RawRecord]:
    budget = _Budget(cfg)
    with open_input(uri) as f, zipfile.ZipFile(f) as zf:
        for info in zf.infolist():
            name = info.filename
            if info.is_dir():
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                yield RawRecord(source, repo, name, None, reject_reason=reasons.SYMLINK,
                                reject_detail="symbolic link stored in zip")
                continue
            early = _precheck(source, repo, name, info.file_size, cfg)
            if early is not None:
                if not budget.spend(0):
                    raise _BudgetExceeded(f"more than ingest.max_archive_members={cfg.max_archive_members} members")
                yield early
                continue
            # a forged header can understate the size: read at most the cap + 1 and look
            try:
                with zf.open(info) as member:
                    data = member.read(cfg.max_read_bytes + 1)
            except RuntimeError as e:  # encrypted member
                yield RawRecord(source, repo, name, None, info.file_size, reject_reason=reasons.READ_ERROR,
                                reject_detail=str(e))
                continue
            if not budget.spend(len(data)):
                raise _BudgetExceeded(f"more than ingest.max_archive_bytes={cfg.max_archive_bytes} bytes or "
                                      f"ingest.max_archive_members={cfg.max_archive_members} members")
            if len(data) > cfg.max_read_bytes:
                yield RawRecord(source, repo, name, None, len(data), reject_reason=reasons.TOO_LARGE_TO_READ,
                                reject_detail=f"decompresses past ingest.max_read_bytes={cfg.max_read_bytes} "
                                              f"(header said {info.file_size} bytes)")
                continue
            yield RawRecord(source, repo, name, data, len(data), lang.from_path(name))
