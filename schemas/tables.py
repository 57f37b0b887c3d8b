"""The pyarrow schemas of the data side: files, listing and rejects; the only place table shapes are written."""
import pyarrow as pa

# One row per source file that ingest discovered. Rows rejected before their content could be read or
# decoded keep id/source/repo/path and carry nulls in the content-derived columns.
FILES = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False,
                 metadata={"doc": "stable id: blake2b-128 hex of source, repo, path and content hash"}),
        pa.field("source", pa.string(), nullable=False, metadata={"doc": "name of the input this row came from"}),
        pa.field("repo", pa.string(),
                 metadata={"doc": "repository (source name, top folder, archive or dataset field)"}),
        pa.field("path", pa.string(), nullable=False, metadata={"doc": "path inside the repository or archive"}),
        pa.field("language", pa.string(), metadata={"doc": "language from extension, file name or shebang"}),
        pa.field("content", pa.string(), metadata={"doc": "decoded UTF-8 text, BOM stripped"}),
        pa.field("size_bytes", pa.int64(), metadata={"doc": "bytes of the UTF-8 content (raw size when undecoded)"}),
        pa.field("n_lines", pa.int32()),
        pa.field("avg_line_len", pa.float32(), metadata={"doc": "characters per line, newline excluded"}),
        pa.field("max_line_len", pa.int32(), metadata={"doc": "characters in the longest line"}),
        pa.field("alnum_frac", pa.float32(), metadata={"doc": "share of letters and digits among all characters"}),
        pa.field("content_sha256", pa.string(), metadata={"doc": "sha256 hex of the UTF-8 content"}),
        pa.field("encoding", pa.string(), metadata={"doc": "encoding the raw bytes were decoded from"}),
    ]
)

# Added by every stage; null on kept rows. A stage's output is FILES (plus its own columns) plus these.
REJECT_COLUMNS = pa.schema(
    [
        pa.field("reject_reason", pa.string(), metadata={"doc": "reason constant from pipeline.reasons"}),
        pa.field("reject_detail", pa.string(), metadata={"doc": "human-readable specifics (value, limit, error)"}),
    ]
)

# Stage outputs are written partitioned by this column: <stage>/status=kept and <stage>/status=rejected.
STATUS_COLUMN = "status"
STATUS_KEPT = "kept"
STATUS_REJECTED = "rejected"

# The run-wide table of dropped rows, one per row any stage rejected.
REJECTS = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string()),
    ]
)

# What the distributed walk of a directory tree emits, one row per entry, before anything is read.
LISTING = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("repo", pa.string()),
        pa.field("path", pa.string(), nullable=False, metadata={"doc": "path relative to the input root"}),
        pa.field("uri", pa.string(), metadata={"doc": "where executors read it; null when it must not be read"}),
        pa.field("size_bytes", pa.int64()),
        pa.field("kind", pa.string(), metadata={"doc": "file, archive, or the reject reason of a non-file"}),
        pa.field("language", pa.string()),
        pa.field("reject_reason", pa.string()),
        pa.field("reject_detail", pa.string()),
    ]
)


def with_reject_columns(schema: pa.Schema) -> pa.Schema:
    """A stage's output schema: its rows' schema plus the reject columns (once)."""
    missing = [f for f in REJECT_COLUMNS if schema.get_field_index(f.name) < 0]
    return pa.schema(list(schema) + missing)
