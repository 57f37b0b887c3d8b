"""Driver-side file operations on any Hadoop URI (file://, hdfs://, s3a://) through Spark's own FileSystem."""
from __future__ import annotations


class HadoopFS:
    """exists / read / write / rename / delete / list, the same way Spark's writers see the store."""

    def __init__(self, spark):
        self._jvm = spark.sparkContext._jvm
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    def _path(self, uri: str):
        return self._jvm.org.apache.hadoop.fs.Path(uri)

    def _fs(self, uri: str):
        return self._path(uri).getFileSystem(self._conf)

    def exists(self, uri: str) -> bool:
        return bool(self._fs(uri).exists(self._path(uri)))

    def delete(self, uri: str) -> None:
        self._fs(uri).delete(self._path(uri), True)

    def mkdirs(self, uri: str) -> None:
        self._fs(uri).mkdirs(self._path(uri))

    def rename(self, src: str, dst: str) -> None:
        if not self._fs(src).rename(self._path(src), self._path(dst)):
            raise OSError(f"could not rename {src} to {dst}")

    def write_text(self, uri: str, text: str) -> None:
        """Write a small file whole: to a temporary name first, then renamed over `uri`."""
        tmp = uri + ".tmp"
        out = self._fs(tmp).create(self._path(tmp), True)
        try:
            out.write(bytearray(text.encode("utf-8")))
        finally:
            out.close()
        if self.exists(uri):
            self.delete(uri)
        self.rename(tmp, uri)

    def read_text(self, uri: str) -> str | None:
        if not self.exists(uri):
            return None
        stream = self._fs(uri).open(self._path(uri))
        try:
            reader = self._jvm.java.io.BufferedReader(self._jvm.java.io.InputStreamReader(stream, "UTF-8"))
            lines = []
            line = reader.readLine()
            while line is not None:
                lines.append(line)
                line = reader.readLine()
            return "\n".join(lines)
        finally:
            stream.close()

    def list_names(self, uri: str) -> list[str]:
        if not self.exists(uri):
            return []
        return sorted(s.getPath().getName() for s in self._fs(uri).listStatus(self._path(uri)))
