"""The tokenize job on Spark: pack pass, leftovers on the driver, seeded shuffle, shard writing, manifest, commit."""
from __future__ import annotations

import functools
import json
import time
import uuid

import numpy as np
import pyarrow as pa

from pipeline import __version__
from pipeline.config import TokenizeConfig
from pipeline.ingest.fsio import to_uri
from pipeline.spark.hadoop_fs import HadoopFS
from pipeline.tokenize import encode, shards
from pipeline.tokenizer import fast
from pipeline.tokenizer.save import sha256_of
from pipeline.tokenizer.special import EOT, PAD
from pipeline.typed_config import fingerprint, fingerprint_view
from schemas import MANIFEST_NAME, Manifest, ShardEntry
from schemas.spark import spark_schema

SUCCESS = "_SUCCESS"
STATS_NAME = "stats.json"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
WRITTEN = pa.schema([pa.field("shard", pa.int64()), pa.field("path", pa.string()), pa.field("rows", pa.int64()),
                     pa.field("tokens", pa.int64()), pa.field("sha256", pa.string()), pa.field("bytes", pa.int64()),
                     pa.field("seconds", pa.float64())])


def write_shards(batches, out_uri: str, compression: str):
    """mapInArrow body: rows sorted by (shard, pos) in, one shard file per shard value out (written by pyarrow
    to `out_uri`, a temporary name first), one WRITTEN record per shard."""
    from pyarrow import fs as pafs

    filesystem, root = pafs.FileSystem.from_uri(out_uri)
    pending: list[pa.RecordBatch] = []
    current = None

    def flush():
        t0 = time.perf_counter()
        table = shards.to_shard_table(pa.Table.from_batches(pending).combine_chunks())
        data = shards.shard_bytes(table, compression)
        name = shards.shard_name(current)
        filesystem.create_dir(f"{root}/shards", recursive=True)
        tmp = f"{root}/{name}.tmp-{uuid.uuid4().hex[:8]}"
        with filesystem.open_output_stream(tmp) as f:
            f.write(data)
        filesystem.move(tmp, f"{root}/{name}")
        width = len(table.column("input_ids")[0]) if table.num_rows else 0
        return pa.RecordBatch.from_pylist([{"shard": current, "path": name, "rows": table.num_rows,
                                            "tokens": table.num_rows * width, "sha256": shards.sha256(data),
                                            "bytes": len(data), "seconds": time.perf_counter() - t0}],
                                          schema=WRITTEN)

    for batch in batches:
        ids = batch.column("shard").to_numpy(zero_copy_only=False)
        edges = [0, *(np.flatnonzero(np.diff(ids)) + 1).tolist(), batch.num_rows]
        for lo, hi in zip(edges[:-1], edges[1:]):
            if hi == lo:
                continue
            if current is not None and int(ids[lo]) != current:
                yield flush()
                pending = []
            current = int(ids[lo])
            pending.append(batch.slice(lo, hi - lo).select(["input_ids", "doc_starts", "loss_mask"]))
    if pending:
        yield flush()


def _read_input(spark, cfg: TokenizeConfig, inputs: list[str]):
    from pyspark.sql import functions as F

    df = spark.read.parquet(*inputs)
    payload = "content" if cfg.mode == "pretrain" else "messages"
    missing = {"id", payload} - set(df.columns)
    if missing:
        from pipeline.typed_config import ConfigError
        raise ConfigError(f"tokenize.mode={cfg.mode} reads columns {sorted(missing)} that {inputs} lacks "
                          f"({'a files table' if cfg.mode == 'pretrain' else 'the sft chatml table'} is expected)")
    key = F.xxhash64(F.lit(cfg.seed), F.col("id"))
    return df.select("id", payload).withColumn(encode.KEY, key).withColumn(
        encode.BUCKET, F.pmod(F.col(encode.KEY), F.lit(cfg.pack_buckets)).cast("int"))


def run_tokenize(spark, cfg: TokenizeConfig, inputs: list[str], tokenizer_dir: str, output: str,
                 force: bool = False) -> dict:
    """Tokenize the table(s) `inputs` into `output`; returns the summary (also in stats.json and _SUCCESS).
    A finished output with the same fingerprint (config, inputs, tokenizer hash) is kept as it is."""
    from pyspark.sql import functions as F

    fs = HadoopFS(spark)
    out = to_uri(output).rstrip("/")
    tok_dir = tokenizer_dir.removeprefix("file://")
    tok_sha = sha256_of(tok_dir)
    fp = fingerprint("tokenize", __version__, cfg, [to_uri(i) for i in inputs], tok_sha)
    done = fs.read_text(f"{out}/{SUCCESS}")
    if done and json.loads(done)["fingerprint"] == fp and not force:
        return {**json.loads(done)["summary"], "status": "skipped"}
    enc = fast.load(tok_dir, tok_sha)
    row_len = cfg.seq_len + 1
    staging = f"{out.rsplit('/', 1)[0]}/_staging/{out.rsplit('/', 1)[1]}-{uuid.uuid4().hex[:12]}"
    times = {}

    # pass 1: documents to buckets, seeded order within each, encoded and packed by one task per bucket group
    t0 = time.time()
    df = _read_input(spark, cfg, inputs)
    body = functools.partial(encode.pack_partition, tokenizer_dir=tok_dir, tokenizer_sha256=tok_sha, mode=cfg.mode,
                             row_len=row_len, fim_rate=cfg.fim_rate if cfg.mode == "pretrain" else 0.0,
                             fim_spm_share=cfg.fim_spm_share, seed=cfg.seed)
    packed = (df.repartition(cfg.pack_buckets, encode.BUCKET)
                .sortWithinPartitions(encode.BUCKET, encode.KEY, "id")
                .mapInArrow(body, spark_schema(encode.STAGED)))
    packed.write.mode("overwrite").parquet(f"{staging}/_packed")
    times["encode_pack_s"] = round(time.time() - t0, 2)

    # the driver: per-bucket stats and leftovers (each shorter than a row), packed into the last rows
    t0 = time.time()
    staged = spark.read.parquet(f"{staging}/_packed")
    meta = sorted(staged.filter(F.col("kind") != encode.ROW).collect(), key=lambda r: (r["bucket"], r["kind"]))
    stats = {b: json.loads(r["info"]) for r in meta if r["kind"] == encode.STATS for b in [r["bucket"]]}
    tails = [(np.asarray(r["input_ids"], np.int64).astype(np.uint32),
              None if r["loss_mask"] is None else np.asarray(r["loss_mask"], np.uint8),
              np.asarray(r["doc_starts"], np.int64)) for r in meta if r["kind"] == encode.TAIL]
    extra, n_pad = shards.pack_tails(tails, row_len, enc.special[PAD]) if tails else (None, 0)
    offsets, total = {}, 0
    for b in sorted(stats):
        offsets[b], total = total, total + stats[b]["rows"]
    n_extra = extra.num_rows if extra is not None else 0
    n_rows = total + n_extra
    a, b_off = shards.permutation(n_rows, cfg.seed)
    n_shards = max(1, -(-n_rows // cfg.shard_rows))

    # pass 2: every row gets its position (seeded bijection) and shard, shards are written by pyarrow
    rows = staged.filter(F.col("kind") == encode.ROW)
    if offsets:
        offset = F.element_at(F.create_map(*[F.lit(x) for kv in offsets.items() for x in kv]), F.col("bucket"))
        rows = rows.select((offset + F.col("seq")).alias("g"), "input_ids", "doc_starts", "loss_mask")
    if n_extra:
        table = extra.append_column("g", pa.array(np.arange(total, n_rows, dtype=np.int64)))
        table = pa.Table.from_arrays([table.column("g"), table.column("input_ids").cast(pa.list_(pa.int32())),
                                      table.column("doc_starts"), table.column("loss_mask").cast(pa.list_(pa.int8()))],
                                     names=["g", "input_ids", "doc_starts", "loss_mask"])
        rows = rows.unionByName(spark.createDataFrame(table)) if offsets else spark.createDataFrame(table)
    pos = F.pmod(F.lit(a).cast("long") * F.col("g") + F.lit(b_off).cast("long"), F.lit(n_rows).cast("long"))
    rows = rows.withColumn("pos", pos).withColumn("shard", F.floor(F.col("pos") / cfg.shard_rows).cast("long"))
    writer = functools.partial(write_shards, out_uri=staging, compression=cfg.compression)
    written = sorted((r.asDict() for r in rows.repartition(min(n_shards, 64), "shard")
                      .sortWithinPartitions("shard", "pos").mapInArrow(writer, spark_schema(WRITTEN)).collect()),
                     key=lambda r: r["shard"])
    times["shuffle_write_s"] = round(time.time() - t0, 2)
    if [w["shard"] for w in written] != list(range(n_shards)) or sum(w["rows"] for w in written) != n_rows:
        raise RuntimeError(f"tokenize: wrote shards {[w['shard'] for w in written]} with "
                           f"{sum(w['rows'] for w in written)} rows, expected {n_shards} shards, {n_rows} rows")

    # manifest, stats, the tokenizer beside the shards; then the commit
    fs.delete(f"{staging}/_packed")
    for name in TOKENIZER_FILES:
        with open(f"{tok_dir}/{name}", encoding="utf-8") as f:
            fs.write_text(f"{staging}/tokenizer/{name}", f.read())
    manifest = Manifest(mode=cfg.mode, seq_len=cfg.seq_len, vocab_size=enc.vocab_size, eos_id=enc.special[EOT],
                        pad_id=enc.special[PAD], tokenizer_sha256=tok_sha, tokenizer_dir="tokenizer",
                        shards=tuple(ShardEntry(w["path"], w["rows"], w["tokens"], w["sha256"]) for w in written),
                        config=fingerprint_view(cfg))
    fs.write_text(f"{staging}/{MANIFEST_NAME}", manifest.to_json())
    summary = _summary(stats, n_rows, n_pad, row_len, written, manifest, cfg)
    fs.write_text(f"{staging}/{STATS_NAME}", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    if fs.exists(out):
        fs.delete(out)
    fs.mkdirs(out.rsplit("/", 1)[0])
    fs.rename(staging, out)
    summary = {**summary, "status": "ran", "output": out, "times": times,
               "shard_write_mb_s": round(sum(w["bytes"] for w in written) / 1e6
                                         / max(sum(w["seconds"] for w in written), 1e-9), 1)}
    fs.write_text(f"{out}/{SUCCESS}", json.dumps({"fingerprint": fp, "summary": summary}, indent=2))
    return summary


def _summary(stats: dict, n_rows: int, n_pad: int, row_len: int, written, manifest: Manifest, cfg) -> dict:
    """Counts that reconcile: documents in = packed + rejected by reason; tokens in = tokens in rows - pads."""
    total = {k: sum(s[k] for s in stats.values()) for k in ("documents", "packed_documents", "bytes", "tokens",
                                                             "fim_psm", "fim_spm")}
    rejected: dict[str, int] = {}
    for s in stats.values():
        for k, v in s["rejected_by_reason"].items():
            rejected[k] = rejected.get(k, 0) + v
    in_rows = n_rows * row_len
    lost = total["tokens"] - (in_rows - n_pad)
    if total["documents"] != total["packed_documents"] + sum(rejected.values()) or lost != 0:
        raise RuntimeError(f"tokenize does not reconcile: {total}, rejected {rejected}, {lost} tokens lost")
    return {**total, "rejected_by_reason": dict(sorted(rejected.items())), "rows": n_rows, "shards": len(written),
            "tokens_in_rows": in_rows, "pad_tokens": n_pad, "tokens_lost": lost, "mode": cfg.mode,
            "bytes_per_token": round(total["bytes"] / max(total["tokens"], 1), 3),
            "tokenizer_sha256": manifest.tokenizer_sha256}
