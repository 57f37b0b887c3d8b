"""The tokenize job on Spark: one pass (bucket, encode, pack, permute, write shards), the buckets' leftovers packed
on the driver, manifest, stats and an atomic commit."""
from __future__ import annotations

import functools
import json
import time
import uuid

import numpy as np

from common.typed_config import ConfigError, fingerprint, fingerprint_view
from pipeline import __version__
from pipeline.config import TokenizeConfig
from pipeline.ingest.fsio import to_uri
from pipeline.spark.hadoop_fs import HadoopFS
from pipeline.tokenize import encode, sft_input, shards
from pipeline.tokenize.summary import manifest_task_counts, summarize
from pipeline.tokenize.tasks import task_specs
from pipeline.tokenizer import fast
from pipeline.tokenizer.save import read_file, sha256_of
from pipeline.tokenizer.special import EOT, PAD
from schemas import MANIFEST_NAME, Manifest, ShardEntry
from schemas.spark import spark_schema

SUCCESS = "_SUCCESS"
STATS_NAME = "stats.json"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def _copy_tokenizer(tok_dir: str, out_uri: str) -> None:
    """The tokenizer files beside the shards (bytes as they are: the manifest's hash stays true)."""
    from pyarrow import fs as pafs

    filesystem, root = pafs.FileSystem.from_uri(out_uri)
    filesystem.create_dir(f"{root}/tokenizer", recursive=True)
    for name in TOKENIZER_FILES:
        with filesystem.open_output_stream(f"{root}/tokenizer/{name}") as dst:
            dst.write(read_file(tok_dir, name))


def _keyed(df, cfg: TokenizeConfig):
    """Documents with their seeded order key and hash bucket."""
    from pyspark.sql import functions as F

    key = F.xxhash64(F.lit(cfg.seed), F.col("id"))
    return df.withColumn(encode.KEY, key).withColumn(
        encode.BUCKET, F.pmod(F.hash(F.col(encode.KEY)), F.lit(cfg.pack_buckets)).cast("int"))


def _pretrain_input(spark, inputs: list[str]):
    df = spark.read.parquet(*inputs)
    missing = {"id", "content"} - set(df.columns)
    if missing:
        raise ConfigError(f"tokenize.mode=pretrain reads columns {sorted(missing)} that {inputs} lacks (a files "
                          "table is expected)")
    return df.select("id", "content")


def run_tokenize(spark, cfg: TokenizeConfig, inputs: list[str], tokenizer_dir: str, output: str,
                 force: bool = False) -> dict:
    """Tokenize the table(s) `inputs` into `output`; returns the summary (also in stats.json and _SUCCESS).
    pretrain: `inputs` are files tables. sft: `inputs` are the sft stage's kept pairs (read when a pair task is
    configured); chat_rounds tasks name their own files. A finished output with the same fingerprint (config,
    inputs, tokenizer hash) is kept as it is."""
    specs = task_specs(cfg) if cfg.mode == "sft" else ()  # config errors before any work
    fs = HadoopFS(spark)
    out = to_uri(output).rstrip("/")
    tok_dir = tokenizer_dir.removeprefix("file://")  # a local path, or a URI executors read through pyarrow
    tok_sha = sha256_of(tok_dir)
    fp = fingerprint("tokenize", __version__, cfg, [to_uri(i) for i in inputs], tok_sha)
    done = fs.read_text(f"{out}/{SUCCESS}")
    if done and json.loads(done)["fingerprint"] == fp and not force:
        return {**json.loads(done)["summary"], "status": "skipped"}
    enc = fast.load(tok_dir, tok_sha)
    row_len = cfg.seq_len + 1
    parent, name = out.rsplit("/", 1)
    for old in fs.list_names(f"{parent}/_staging"):
        if old.startswith(f"{name}-"):  # a killed run's half output (one run per output folder at a time)
            fs.delete(f"{parent}/_staging/{old}")
    staging = f"{parent}/_staging/{name}-{uuid.uuid4().hex[:12]}"
    t0 = time.time()

    # the one pass: documents to buckets by a seeded hash of their id, in seeded order within each; one task per
    # bucket group encodes, packs, permutes its rows and writes its shards, and reports back (small records)
    samples = task_inputs = None
    if cfg.mode == "sft":  # every task's samples, read once: counted, held-out and rejected ones written, the rest
        samples = sft_input.read_samples(spark, cfg, specs, inputs)
        task_inputs = sft_input.task_counts(samples, specs)
        sft_input.write_side_tables(samples, staging)
        df = _keyed(sft_input.training_rows(samples), cfg)
    else:
        df = _keyed(_pretrain_input(spark, inputs), cfg)
    body = functools.partial(encode.pack_partition, tokenizer_dir=tok_dir, tokenizer_sha256=tok_sha, mode=cfg.mode,
                             row_len=row_len, fim_rate=cfg.fim_rate if cfg.mode == "pretrain" else 0.0,
                             fim_spm_share=cfg.fim_spm_share, seed=cfg.seed, shard_rows=cfg.shard_rows,
                             out_uri=staging, compression=cfg.compression)
    # repartition(n, _key) places a row by pmod(hash(_key), n): the bucket itself, so each task gets exactly one
    # bucket (repartitioning by the bucket number would hash it again, and two buckets could share a task)
    reports = (df.repartition(cfg.pack_buckets, encode.KEY)
                 .sortWithinPartitions(encode.BUCKET, encode.KEY, "id")
                 .mapInArrow(body, spark_schema(encode.REPORT)).collect())
    reports.sort(key=lambda r: (r["bucket"], r["kind"], r["info"] or ""))
    if samples is not None:
        samples.unpersist()
    t_pass = time.time() - t0

    # the driver: every bucket's leftovers (each shorter than a row), in bucket order, become the last rows
    stats = {r["bucket"]: json.loads(r["info"]) for r in reports if r["kind"] == encode.STATS}
    written = [json.loads(r["info"]) for r in reports if r["kind"] == encode.SHARD]
    tails = [(np.frombuffer(r["ids"], np.uint32), None if r["mask"] is None else np.frombuffer(r["mask"], np.uint8),
              np.frombuffer(r["starts"], np.int64), None if r["tasks"] is None else np.frombuffer(r["tasks"], np.int16))
             for r in reports if r["kind"] == encode.TAIL]
    n_pad = 0
    if tails:
        table, n_pad = shards.pack_tails(tails, row_len, enc.special[PAD])
        written += encode.write_bucket(table.to_batches(), cfg.pack_buckets, cfg.seed, cfg.shard_rows, staging,
                                       cfg.compression)
    written.sort(key=lambda w: w["path"])
    n_rows = sum(w["rows"] for w in written)

    # stats, manifest, the tokenizer beside the shards; then the commit
    summary = summarize(stats, n_rows, n_pad, row_len, len(written), cfg.mode, tok_sha, task_inputs)
    _copy_tokenizer(tok_dir, staging)
    config = fingerprint_view(cfg)
    if cfg.mode == "sft":
        config["task_counts"] = manifest_task_counts(summary)
    manifest = Manifest(mode=cfg.mode, seq_len=cfg.seq_len, vocab_size=enc.vocab_size, eos_id=enc.special[EOT],
                        pad_id=enc.special[PAD], tokenizer_sha256=tok_sha, tokenizer_dir="tokenizer",
                        shards=tuple(ShardEntry(w["path"], w["rows"], w["tokens"], w["sha256"]) for w in written),
                        config=config, tasks=tuple(s.name for s in specs))
    fs.write_text(f"{staging}/{MANIFEST_NAME}", manifest.to_json())
    fs.write_text(f"{staging}/{STATS_NAME}", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    if fs.exists(out):
        fs.delete(out)
    fs.mkdirs(out.rsplit("/", 1)[0])
    fs.rename(staging, out)
    write_s = sum(w["seconds"] for w in written)
    summary = {**summary, "status": "ran", "output": out,
               "times": {"pass_s": round(t_pass, 2), "total_s": round(time.time() - t0, 2),
                         **{f"tasks_{k}_s": round(sum(s["seconds"].get(k, 0.0) for s in stats.values()), 2)
                            for k in ("task", "load", "wait", "encode", "pack", "write")}},
               "shard_write_mb_s": round(sum(w["bytes"] for w in written) / 1e6 / max(write_s, 1e-9), 1),
               "shard_write_tokens_s": round(n_rows * row_len / max(write_s, 1e-9))}
    fs.write_text(f"{out}/{SUCCESS}", json.dumps({"fingerprint": fp, "summary": summary}, indent=2))
    return summary

