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

# Added by the quality stage. Null metrics on rows of languages it does not parse (quality_scored = false).
QUALITY_COLUMNS = pa.schema(
    [
        pa.field("quality_scored", pa.bool_(), metadata={"doc": "false: language without a grammar, passed through"}),
        pa.field("quality_grammar", pa.string(), metadata={"doc": "tree-sitter grammar that parsed the file"}),
        pa.field("syntax_ok", pa.bool_()),
        pa.field("error_ratio", pa.float32(), metadata={"doc": "share of nodes in ERROR subtrees or MISSING"}),
        pa.field("n_functions", pa.int32()),
        pa.field("fn_mean_lines", pa.float32()),
        pa.field("cc_mean", pa.float32(), metadata={"doc": "mean cyclomatic complexity per function"}),
        pa.field("cc_max", pa.int32()),
        pa.field("max_nesting", pa.int32(), metadata={"doc": "deepest nesting of control structures"}),
        pa.field("comment_ratio", pa.float32(), metadata={"doc": "non-blank lines holding a comment or docstring"}),
        pa.field("redundancy", pa.float32(), metadata={"doc": "share of substantial lines repeating an earlier one"}),
        pa.field("naming_consistency", pa.float32(), metadata={"doc": "function names following the convention"}),
        pa.field("n_imports", pa.int32()),
        pa.field("n_calls", pa.int32()),
        pa.field("external_call_frac", pa.float32(), metadata={"doc": "calls to names the file does not define"}),
        pa.field("ident_mean_len", pa.float32()),
        pa.field("quality_score", pa.float32(), metadata={"doc": "composite in [0, 1], see pipeline/quality/score.py"}),
    ]
)

# What the quality stage's one parse leaves for the later stages that need the tree (segments, sft), so that they do
# not parse again; valid while the content is the one parsed (facts_sha256), null where nothing was parsed.
PARSE_FACTS = pa.schema(
    [
        pa.field("facts_sha256", pa.string(), metadata={"doc": "sha256 of the content the facts were taken from"}),
        pa.field("segment_facts", pa.list_(pa.struct([("seg_hash", pa.int64()), ("start_line", pa.int32()),
                                                      ("end_line", pa.int32())])),
                 metadata={"doc": "every function and class: normalised-text hash, 1-based lines"}),
        pa.field("sft_candidates", pa.list_(pa.struct([
            ("name", pa.string()), ("code", pa.string()), ("comment", pa.string()), ("comment_style", pa.string()),
            ("start_line", pa.int32()), ("end_line", pa.int32()), ("n_lines", pa.int32()),
            ("effective_lines", pa.int32())])),
                 metadata={"doc": "documented functions, before the sft rules"}),
    ]
)

# One row per documented function the sft stage found: the pair, and its reject reason when the rules drop it.
SFT_PAIRS = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False, metadata={"doc": "blake2b-128 of file id, line and name"}),
        pa.field("file_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("repo", pa.string()),
        pa.field("path", pa.string(), nullable=False),
        pa.field("language", pa.string()),
        pa.field("function_name", pa.string()),
        pa.field("start_line", pa.int32()),
        pa.field("end_line", pa.int32()),
        pa.field("n_lines", pa.int32(), metadata={"doc": "lines of code in the pair"}),
        pa.field("effective_line_frac", pa.float32(), metadata={"doc": "lines neither blank nor comment"}),
        pa.field("comment_style", pa.string(), metadata={"doc": "docstring, block_doc, line_doc or above"}),
        pa.field("comment", pa.string(), metadata={"doc": "documentation, comment markers stripped"}),
        pa.field("code", pa.string(), metadata={"doc": "the function (a Python docstring removed)"}),
        pa.field("size_bytes", pa.int64(), metadata={"doc": "bytes of code and comment"}),
    ]
)

# ChatML conversations rendered from kept pairs: one per pair and task.
SFT_CHATML = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("pair_id", pa.string(), nullable=False),
        pa.field("task", pa.string(), metadata={"doc": "annotate (code->comment), generate, explain"}),
        pa.field("prompt_language", pa.string(), metadata={"doc": "en or zh"}),
        pa.field("template", pa.int32()),
        pa.field("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
        pa.field("text", pa.string(), metadata={"doc": "<|im_start|>role\\n...<|im_end|> per turn"}),
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
