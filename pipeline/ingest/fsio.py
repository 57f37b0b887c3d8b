"""Where inputs live: local paths and Hadoop-style URIs, opened and listed from executors through pyarrow.fs."""
from __future__ import annotations

import os
from urllib.parse import unquote, urlparse

# Hadoop scheme -> the scheme pyarrow.fs understands
_ARROW_SCHEMES = {"s3a": "s3", "s3n": "s3", "s3": "s3", "gs": "gs", "gcs": "gs", "hdfs": "hdfs", "viewfs": "hdfs",
                  "abfs": "abfs", "abfss": "abfs"}


def is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file:")


def local_path(uri: str) -> str:
    """`file:///a/b`, `file:/a/b` or `a/b` -> an absolute local path."""
    if uri.startswith("file:"):
        uri = unquote(urlparse(uri).path)
    return os.path.abspath(uri)


def to_uri(uri: str) -> str:
    """A URI that Spark and Hadoop accept for `uri` (local paths become file:// URIs)."""
    return "file://" + local_path(uri) if is_local(uri) else uri


def arrow_fs(uri: str):
    """(pyarrow FileSystem, path inside it) for a remote URI such as s3a://bucket/key or hdfs://nn/path."""
    from pyarrow import fs

    parsed = urlparse(uri)
    scheme = _ARROW_SCHEMES.get(parsed.scheme)
    if scheme is None:
        raise ValueError(f"no reader for URI scheme '{parsed.scheme}' in {uri}")
    return fs.FileSystem.from_uri(uri.replace(parsed.scheme + "://", scheme + "://", 1))


def open_input(uri: str):
    """A binary, seekable file object for a local path or a remote URI."""
    if is_local(uri):
        return open(local_path(uri), "rb")
    filesystem, path = arrow_fs(uri)
    return filesystem.open_input_file(path)


def read_capped(uri: str, cap: int) -> bytes:
    """At most cap + 1 bytes, so a caller sees that a file grew past its cap without reading it whole."""
    with open_input(uri) as f:
        return f.read(cap + 1)


def size_of(uri: str) -> int | None:
    """Bytes in one file, local or remote; None when the store does not say."""
    if is_local(uri):
        return os.path.getsize(local_path(uri))
    filesystem, path = arrow_fs(uri)
    return filesystem.get_file_info(path).size
