"""The pipeline's one config tree: every section, key, default, unit and allowed range, with help text."""
from __future__ import annotations

from dataclasses import dataclass, field

from common.typed_config import option
from pipeline.ingest.language import LANGUAGES
from pipeline.quality.score import ASPECTS, DEFAULT_WEIGHTS
from pipeline.quality.specs import SPECS
from pipeline.stages import STAGE_NAMES as STAGES  # names only: the registry imports no stage module

MiB = 1 << 20
# the smallest tokenizer.vocab_size that always holds the 8 special tokens, the 256 bytes and every keyword form
# (618) as one token, whatever the corpus (keywords.enforce drops trained merges down to none to make room);
# tests/pipeline/tokenizer/test_min_vocab.py recomputes it from keywords.yaml
MIN_VOCAB_SIZE = 2491
PII_TYPES = ("EMAIL", "IP_ADDRESS", "KEY", "PASSWORD", "PRIVATE_KEY")
TOXIC_CATEGORIES = ("toxic_en", "toxic_zh", "reverse_shell", "credential_stealer", "crypto_miner",
                    "obfuscated_dropper")
SFT_TASKS = ("annotate", "generate", "explain")
# tokenize (sft mode): the tasks built from the sft stage's kept pairs; any other task name reads chat_rounds JSONL
PAIR_TASKS = ("comment_generation", "code_generation")
VCS_DIRS = [".git", ".hg", ".svn", ".bzr", "CVS", "_darcs", ".jj"]


@dataclass(frozen=True)
class RunConfig:
    inputs: list[str] = option([], "inputs: folders, tar/tar.gz/zip archives, JSONL or Parquet datasets; "
                                   "'name=path' names the source; empty = the embedded default corpus")
    output: str = option("", "run folder: one subfolder per stage, run.json and the resolved config")
    stages: list[str] = option(list(STAGES), "stages to run, in pipeline order", choices=STAGES)
    force: bool = option(False, "rerun stages even when a finished output with the same fingerprint exists")
    fuse_row_stages: bool = option(True, "run consecutive row-local stages (filter..decontam) as one pass with one "
                                         "write; only the last keeps a kept table (false: one job and table each)")
    keep_rejected_content: bool = option(True, "keep the content of rejected rows in <stage>/status=rejected")
    report: bool = option(True, "at the end, build the rejects table and the data portrait (the data DAG turns it "
                                "off on its per-stage steps: its report step builds both once)")


@dataclass(frozen=True)
class SparkConfig:
    master: str = option("local[*]", "Spark master URL (ignored under spark-submit, which sets its own)")
    app_name: str = option("codefuse-pipeline", "Spark application name")
    shuffle_partitions: int = option(8, "spark.sql.shuffle.partitions (keep it small on few cores)", min=1)
    driver_memory: str = option("4g", "driver memory when the pipeline starts its own JVM")
    arrow_batch_rows: int = option(1000, "rows per Arrow batch handed to a stage", min=1)
    arrow_batch_bytes: int = option(64 * MiB, "bytes per Arrow batch handed to a stage", min=MiB)
    conf: dict[str, str] = option({}, "extra Spark settings, e.g. {spark.executor.memory: 8g}")


@dataclass(frozen=True)
class DatasetFields:
    content: str = option("content", "column holding the file text")
    path: str = option("path", "column holding the file path (The Stack: max_stars_repo_path)")
    repo: str = option("repo_name", "column holding the repository name; missing column = source name")
    language: str = option("", "column holding a language name to trust; empty = detect from the path")


@dataclass(frozen=True)
class IngestConfig:
    format: str = option("auto", "how to read inputs; auto = by suffix (folder, archive, .jsonl[.gz], .parquet)",
                         choices=("auto", "tree", "archive", "jsonl", "parquet"))
    max_read_bytes: int = option(8 * MiB, "files larger than this are rejected unread", min=1)
    max_archive_bytes: int = option(2048 * MiB, "decompressed bytes read from one archive before the rest "
                                                "of its members are rejected (zip-bomb guard)", min=1)
    max_archive_members: int = option(1_000_000, "members read from one archive", min=1)
    expand_archives: bool = option(True, "read tar/zip files found inside folders as their members")
    skip_dirs: list[str] = option(VCS_DIRS, "folder names never descended into (version control)")
    languages: list[str] = option([], "keep only these languages (names as in `python -m pipeline languages`); "
                                      "empty = all", choices=LANGUAGES)
    repo_from: str = option("source", "repo column for folder inputs: the source name, or each top folder",
                            choices=("source", "top_dir"))
    partition_bytes: int = option(64 * MiB, "target bytes of listed files per read task (at least 2 tasks per "
                                                      "core)", min=MiB)
    dataset: DatasetFields = field(default_factory=DatasetFields)


@dataclass(frozen=True)
class FilterConfig:
    max_file_bytes: int = option(1_000_000, "reject files larger than this (paper: 1 MB)", min=1)
    max_lines: int = option(10_000, "reject files with more lines (paper: 10,000)", min=1)
    max_avg_line_len: float = option(100.0, "reject files whose mean line length exceeds this (paper: 100)", min=1)
    min_alnum_frac: float = option(0.4, "reject files with a lower share of letters and digits (paper: 40%)",
                                   min=0.0, max=1.0)
    max_line_len: int = option(1000, "reject files with any longer line (minified or generated code)", min=1)


@dataclass(frozen=True)
class QualityConfig:
    min_score: float = option(0.6, "reject files whose composite quality score is lower", min=0.0, max=1.0)
    max_error_ratio: float = option(0.0, "reject files with a larger share of syntax-error nodes (0: any error)",
                                    min=0.0, max=1.0)
    error_ratio_by_language: dict[str, float] = option(
        {"C": 0.02, "C++": 0.02}, "per-language max_error_ratio: tree-sitter cannot expand preprocessor macros, so "
                                  "valid macro-heavy C/C++ shows a few error nodes", choices=tuple(SPECS))
    parse_budget_ms: float = option(2000.0, "parse time allowed per file before it is rejected", min=1.0)
    max_parse_bytes: int = option(2_000_000, "files larger than this are not parsed (rejected)", min=1)
    weights: dict[str, float] = option(DEFAULT_WEIGHTS, "weight of each aspect in the composite score "
                                                        "(see pipeline/quality/score.py)", choices=ASPECTS)


@dataclass(frozen=True)
class PrivacyConfig:
    types: list[str] = option(list(PII_TYPES), "kinds of personal data and secrets replaced by <TYPE> placeholders",
                              choices=PII_TYPES)
    min_secret_entropy: float = option(3.0, "Shannon entropy (bits per character) above which a value assigned to "
                                            "a name like key/secret/token/password counts as a secret", min=0.0)


@dataclass(frozen=True)
class DetoxConfig:
    categories: list[str] = option(list(TOXIC_CATEGORIES), "categories whose matches reject a file",
                                   choices=TOXIC_CATEGORIES)
    lists_dir: str = option("", "folder of word lists and patterns replacing the built-in ones (same file names)")
    min_toxic_hits: int = option(1, "toxic words needed in comments and strings before a file is rejected", min=1)


@dataclass(frozen=True)
class DecontamConfig:
    benchmarks: list[str] = option(["humaneval"], "built-in benchmarks to decontaminate against",
                                   choices=("humaneval",))
    extra_files: list[str] = option([], "more benchmark JSONL files shaped like HumanEval "
                                        "(task_id, prompt, canonical_solution)")
    ngram_tokens: int = option(10, "tokens per n-gram for the overlap test", min=3)
    min_overlap: float = option(0.5, "reject a file holding this share of a benchmark item's n-grams", min=0.0,
                                max=1.0)
    min_substring_chars: int = option(80, "normalised benchmark text of at least this length found verbatim in a "
                                          "file rejects it", min=10)


@dataclass(frozen=True)
class ResampleConfig:
    weights: dict[str, float] = option(
        {"HTML": 0.3, "CSS": 0.3, "JSON": 0.2, "XML": 0.2, "YAML": 0.5, "CSV": 0.1, "Text": 0.3, "Markdown": 0.5},
        "per-language sampling weight: below 1 keeps that share of files, above 1 repeats them (e.g. 1.5: every "
        "file once, half of them twice); languages not listed keep weight 1", choices=LANGUAGES)
    min_language_mb: float = option(0.0, "languages with less data than this (MB, after dedup) are dropped",
                                     min=0.0)
    seed: int = option(0, "seed of the per-file sampling draws (by hash of the stable id)", min=0)
    bytes_per_token: float = option(3.5, "bytes per token for the token estimates in the distribution tables",
                                    min=0.5)


@dataclass(frozen=True)
class DedupConfig:
    shingle_tokens: int = option(5, "code tokens per MinHash shingle", min=1)
    num_perm: int = option(256, "MinHash permutations", min=8, max=4096)
    threshold: float = option(0.85, "Jaccard similarity at which files are near-duplicates; LSH bands and rows "
                                    "come from datasketch's optimal-parameter routine", min=0.05, max=1.0)
    seed: int = option(1, "MinHash permutation seed (as datasketch's `seed`)", min=0)
    min_tokens: int = option(20, "files with fewer code tokens are not MinHashed (they would form one giant "
                                 "cluster of near-empty files)", min=1)
    verify: str = option("exact", "how a candidate pair is checked before it becomes an edge: the exact Jaccard of "
                                  "the two files' shingle sets, the estimate from their signatures, or none",
                         choices=("exact", "estimate", "none"))
    candidate_threshold: float = option(0.7, "LSH bands and rows come from datasketch's optimal-parameter routine "
                                             "at this threshold (below `threshold`, for recall; verification then "
                                             "applies `threshold`); with verify=none, `threshold` is used",
                                        min=0.05, max=1.0)
    verify_margin: float = option(0.1, "with verify=exact, pairs whose signature estimate is more than this below "
                                       "`threshold` are rejected without the exact check (256 permutations "
                                       "estimate within about 0.02)", min=0.0, max=1.0)
    max_bucket: int = option(50, "LSH buckets larger than this are linked as a star, not all pairs", min=2)
    driver_components_max_edges: int = option(1_000_000, "near-duplicate graphs with at most this many edges get "
                                                         "their connected components in the driver's memory "
                                                         "(scipy), larger ones by rounds of Spark jobs; the same "
                                                         "components either way", min=0)
    broadcast_signatures_mb: int = option(64, "near-dedup sends a signature table up to this size to every task of "
                                              "the candidate pairs (a broadcast join) instead of shuffling both "
                                              "sides; 0: always shuffle", min=0)
    segment_min_lines: int = option(5, "functions/classes shorter than this are not segments", min=1)
    segment_max_dup_frac: float = option(0.5, "reject files with a larger share of code lines in segments first "
                                              "seen in another file", min=0.0, max=1.0)


@dataclass(frozen=True)
class SftConfig:
    languages: list[str] = option([], "languages to extract pairs from; empty = all with a grammar",
                                  choices=tuple(SPECS))
    min_code_lines: int = option(3, "drop pairs whose code has fewer lines (seed rule)", min=1)
    min_effective_line_frac: float = option(0.6, "drop pairs whose code is under this share of non-blank, "
                                                 "non-comment lines (seed rule)", min=0.0, max=1.0)
    max_comment_chars: int = option(512, "drop pairs whose comment is longer (seed rule)", min=1)
    tasks: list[str] = option(list(SFT_TASKS), "ChatML tasks rendered per kept pair: annotate (code->comment), "
                                               "generate (comment->code), explain (code->explanation)",
                              choices=SFT_TASKS)
    zh_share: float = option(0.5, "share of conversations prompted in Chinese (chosen by hash)", min=0.0, max=1.0)


@dataclass(frozen=True)
class TokenizerConfig:
    vocab_size: int = option(8192, "ids in the trained tokenizer, special tokens included; the 13B preset uses the "
                                   "paper's 100864 (ids then need 32 bits)", min=MIN_VOCAB_SIZE, max=2**31 - 1)
    code_sample_mb: float = option(64.0, "MB of code drawn (by a hash of each file's id) from the files table to "
                                         "train on; the other files are held out", min=0.01)
    text_inputs: list[str] = option([], "folders of natural-language text (English, Chinese) trained on as well")
    text_sample_mb: float = option(16.0, "MB drawn from each text folder (by a hash of the relative path)",
                                   min=0.01)
    seed: int = option(1, "seed of the sample's hash", min=0)
    min_frequency: int = option(2, "pairs seen fewer times are never merged", min=1)
    max_token_bytes: int = option(0, "longest token in bytes; 0: no limit", min=0)
    output: str = option("", "folder for tokenizer.json and its transformers files; empty: <run>/tokenizer")


@dataclass(frozen=True)
class SftTaskConfig:
    weight: float = option(1.0, "copies of each training sample of this task, drawn by a hash of the sample id and "
                                "tokenize.seed: below 1 keeps that share (0.3: about 30%), above 1 repeats (1.5: "
                                "every sample once, about half twice); 0 leaves the task out (not read, no task id)",
                           min=0.0, max=1000.0)
    path: str = option("", "a chat_rounds task's JSONL file or folder (.jsonl/.jsonl.gz lines of {\"chat_rounds\": "
                           "[{role: system|human|bot, content}, ...]}); empty for the pair tasks "
                           f"({', '.join(PAIR_TASKS)}), which read the sft stage's kept pairs")
    zh_share: float = option(0.5, "pair tasks: share of prompts in Chinese (by a hash of the pair id)", min=0.0,
                             max=1.0)


@dataclass(frozen=True)
class TokenizeConfig:
    mode: str = option("pretrain", "pretrain: files' content, every token counts; sft: ChatML conversations, "
                                   "loss only on bot turns", choices=("pretrain", "sft"))
    tokenizer: str = option("", "tokenizer folder (tokenizer.json); empty: <run>/tokenizer")
    seq_len: int = option(4096, "tokens per training sequence; each shard row holds seq_len + 1", min=8)
    fim_rate: float = option(0.5, "share of pretrain documents turned into fill-in-the-middle examples (by a hash "
                                  "of the id)", min=0.0, max=1.0)
    fim_spm_share: float = option(0.5, "share of FIM examples in suffix-prefix-middle order (the rest: "
                                       "prefix-suffix-middle)", min=0.0, max=1.0)
    seed: int = option(1, "seed of the FIM draws, the document order and the row shuffle", min=0)
    pack_buckets: int = option(8, "documents are spread by hash over this many buckets, each packed in order by "
                                  "one task (the job's parallelism); leftovers of all buckets are packed last",
                               min=1)
    shard_rows: int = option(2048, "sequences per Parquet shard (the last shard holds the rest)", min=1)
    compression: str = option("zstd", "shard compression", choices=("zstd", "snappy", "none"))
    output: str = option("", "folder for the shards and manifest.json; empty: <run>/tokens (sft: <run>/sft_tokens)")
    sft_holdout_fraction: float = option(0.05, "sft mode: share of samples held out of the shards for evaluation, "
                                               "by a hash of sft_holdout_seed and the pair id (pair tasks: both "
                                               "tasks of a pair together, the pairs python -m evaluation bleu "
                                               "scores with the same defaults) or the sample id (chat_rounds "
                                               "tasks); written to <output>/heldout; 0 = train on all",
                                         min=0.0, max=1.0)
    sft_holdout_seed: int = option(0, "sft mode: seed of the held-out pair draw", min=0)
    tasks: dict[str, SftTaskConfig] = option(
        {name: SftTaskConfig() for name in PAIR_TASKS},
        "sft mode: the tasks mixed into the shards, by name (task ids follow the sorted names). "
        f"{' and '.join(PAIR_TASKS)} come from the kept pairs; any other name is a chat_rounds JSONL task and "
        "needs tasks.<name>.path. Named sections merge: --set tokenize.tasks.x.weight=2 keeps the other tasks")


@dataclass(frozen=True)
class PipelineConfig:
    run: RunConfig = field(default_factory=RunConfig)
    spark: SparkConfig = field(default_factory=SparkConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    detox: DetoxConfig = field(default_factory=DetoxConfig)
    decontam: DecontamConfig = field(default_factory=DecontamConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    resample: ResampleConfig = field(default_factory=ResampleConfig)
    sft: SftConfig = field(default_factory=SftConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    tokenize: TokenizeConfig = field(default_factory=TokenizeConfig)
