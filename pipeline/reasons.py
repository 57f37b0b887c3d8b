"""Reject reasons: the constants every stage writes into `reject_reason`; one place, so reports can group by them."""

# ingest: what the listing sees before reading
SYMLINK = "symlink_not_followed"
NOT_REGULAR_FILE = "not_regular_file"
UNREADABLE_DIR = "unreadable_directory"
UNDECODABLE_PATH = "undecodable_file_name"
UNKNOWN_LANGUAGE = "unknown_language"
LANGUAGE_NOT_SELECTED = "language_not_selected"
TOO_LARGE_TO_READ = "too_large_to_read"

# ingest: reading and decoding
READ_ERROR = "read_error"
EMPTY = "empty"
BINARY = "binary"
NUL_BYTES = "nul_bytes"
UNDECODABLE = "undecodable_text"

# ingest: archives and datasets
UNSAFE_ARCHIVE_PATH = "unsafe_archive_path"
ARCHIVE_BUDGET_EXCEEDED = "archive_budget_exceeded"
CORRUPT_ARCHIVE = "corrupt_archive"
BAD_RECORD = "bad_dataset_record"
MISSING_FIELD = "missing_field"

# filter: the paper's first-level rules
FILE_TOO_LARGE = "file_too_large"
TOO_MANY_LINES = "too_many_lines"
AVG_LINE_TOO_LONG = "avg_line_too_long"
MAX_LINE_TOO_LONG = "max_line_too_long"
LOW_ALNUM_FRACTION = "low_alnum_fraction"

# quality: the paper's second-level filter
SYNTAX_ERROR = "syntax_error"
LOW_QUALITY = "low_quality"
PARSE_BUDGET_EXCEEDED = "parse_budget_exceeded"

# detox and decontamination (the category or benchmark task is in the detail)
TOXIC_CONTENT = "toxic_content"
MALICIOUS_CODE = "malicious_code"
BENCHMARK_CONTAMINATION = "benchmark_contamination"

# resampling
LANGUAGE_BELOW_FLOOR = "language_below_floor"
DOWNSAMPLED = "downsampled"

# dedup: exact, near (MinHash LSH), segments
EXACT_DUPLICATE = "exact_duplicate"
NEAR_DUPLICATE = "near_duplicate"
SEGMENT_DUPLICATE = "segment_duplicate"

# sft: code-comment pairs
SFT_GENERATED_COMMENT = "sft_generated_comment"
SFT_TODO_ONLY = "sft_todo_only_comment"
SFT_TAGS_ONLY = "sft_tags_only_comment"
SFT_EMPTY_COMMENT = "sft_empty_comment"
SFT_ACCESSOR = "sft_getter_setter"
SFT_CODE_TOO_SHORT = "sft_code_too_short"
SFT_LOW_EFFECTIVE_LINES = "sft_low_effective_lines"
SFT_COMMENT_TOO_LONG = "sft_comment_too_long"

ALL = frozenset(v for k, v in dict(globals()).items() if k.isupper() and isinstance(v, str))

# tokenize: documents that give no tokens (counted in the tokenize stage's stats.json)
NULL_CONTENT = "tokenize_null_content"
EMPTY_DOCUMENT = "tokenize_empty_document"

# tokenize (sft mode): task samples that give no training row (counted per task in stats.json, listed in rejects/)
SFT_PAIR_INCOMPLETE = "sft_pair_incomplete"
CHAT_EMPTY_LINE = "chat_empty_line"
CHAT_BAD_JSON = "chat_bad_json"
CHAT_NOT_OBJECT = "chat_not_an_object"
CHAT_NO_ROUNDS = "chat_no_rounds"
CHAT_BAD_ROUND = "chat_bad_round"
CHAT_UNKNOWN_ROLE = "chat_unknown_role"
CHAT_BAD_ORDER = "chat_bad_order"
CHAT_EMPTY_ANSWER = "chat_empty_answer"
