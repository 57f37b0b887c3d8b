"""Ingest on Spark: distributed listing, capped reads and archive expansion, dataset parsing, one files DataFrame."""
from __future__ import annotations

import functools
import math
from typing import Iterator

import pyarrow as pa

from common.typed_config import ConfigError
from pipeline.config import PipelineConfig
from pipeline.ingest import datasets, walk
from pipeline.ingest.fsio import size_of
from pipeline.ingest.inputs import Source, spark_uri
from pipeline.ingest.read import batched, read_listing_batches
from pipeline.ingest.records import INGEST_SCHEMA
from schemas import LISTING
from schemas.spark import spark_schema

_MAX_READ_TASKS = 10_000
_MAX_WALK_TASKS = 256


def _walk_body(batches, tasks, cfg):
    """Walk the tasks whose indexes arrive in `batches` (a spark.range column)."""
    chosen = (tasks[i] for b in batches for i in b.column("id").to_pylist())
    yield from walk.walk_batches(chosen, cfg)


def _jsonl_body(batches, source, cfg, max_rows, max_bytes) -> Iterator[pa.RecordBatch]:
    def records():
        for b in batches:
            yield from datasets.from_jsonl(source, b.column("value"), b.column("file"), cfg.dataset)
    yield from batched(records(), cfg, max_rows, max_bytes)


def _parquet_body(batches, source, cfg, max_rows, max_bytes) -> Iterator[pa.RecordBatch]:
    def records():
        for b in batches:
            files = b.column("file")
            yield from datasets.from_table(source, b.drop_columns(["file"]), files, cfg.dataset)
    yield from batched(records(), cfg, max_rows, max_bytes)


def listing_frame(spark, sources: list[Source], cfg: PipelineConfig):
    """LISTING rows for folder, archive and single-file sources; folders are walked by executors."""
    tasks = [t for s in sources if s.kind == "tree" for t in walk.plan(s.name, s.uri, cfg.ingest.skip_dirs)]
    singles = [walk.classify(s.name, s.name, s.uri.rstrip("/").rsplit("/", 1)[-1], s.uri, size_of(s.uri), "file",
                             cfg.ingest) for s in sources if s.kind in ("archive", "file")]
    frames = []
    if tasks:
        # task indexes from spark.range: no DataFrame to build on the driver and no shuffle to spread them
        # a Python task costs tens of milliseconds to start: a few per core, each walking several folders
        n_parts = min(len(tasks), 2 * spark.sparkContext.defaultParallelism, _MAX_WALK_TASKS)
        ids = spark.range(0, len(tasks), 1, numPartitions=n_parts)
        frames.append(ids.mapInArrow(functools.partial(_walk_body, tasks=tasks, cfg=cfg.ingest),
                                     spark_schema(LISTING)))
    if singles:
        frames.append(spark.createDataFrame(pa.Table.from_pylist(singles, schema=LISTING).to_pandas(),
                                            schema=spark_schema(LISTING)))
    return functools.reduce(lambda a, b: a.unionByName(b), frames) if frames else None


def read_frame(listing, cfg: PipelineConfig):
    """Listing -> files rows. Partitions are fixed by the listed bytes and hashed by path, so output is stable."""
    from pyspark.sql import functions as F

    listing = listing.persist()
    total = listing.where(F.col("uri").isNotNull()).agg(F.sum("size_bytes")).first()[0] or 0
    # enough tasks to keep every core busy, more when the bytes call for it; the rows are the same either way
    floor = 2 * listing.sparkSession.sparkContext.defaultParallelism
    n_tasks = max(floor, min(_MAX_READ_TASKS, math.ceil(total / cfg.ingest.partition_bytes)))
    body = functools.partial(read_listing_batches, cfg=cfg.ingest, max_rows=cfg.spark.arrow_batch_rows,
                             max_bytes=cfg.spark.arrow_batch_bytes)
    return (listing.repartition(n_tasks, "source", "path").sortWithinPartitions("source", "path")
            .mapInArrow(body, spark_schema(INGEST_SCHEMA)))


def dataset_frame(spark, source: Source, cfg: PipelineConfig):
    """Files rows from a JSONL or Parquet dataset (a file or a folder of them)."""
    from pyspark.sql import functions as F

    kw = dict(source=source.name, cfg=cfg.ingest, max_rows=cfg.spark.arrow_batch_rows,
              max_bytes=cfg.spark.arrow_batch_bytes)
    uri = spark_uri(source)
    if source.kind == "jsonl":
        df = spark.read.option("recursiveFileLookup", "true").text(uri)
        df = df.select("value", F.col("_metadata.file_path").alias("file"))
        return df.mapInArrow(functools.partial(_jsonl_body, **kw), spark_schema(INGEST_SCHEMA))
    df = spark.read.option("recursiveFileLookup", "true").parquet(uri)
    fields = cfg.ingest.dataset
    wanted = [c for c in (fields.content, fields.path, fields.repo, fields.language) if c]
    missing = [c for c in (fields.content, fields.path) if c not in df.columns]
    if missing:
        raise ConfigError(f"dataset {source.uri} has no column {missing[0]!r} (columns: {', '.join(df.columns)}); "
                          f"set ingest.dataset.content / ingest.dataset.path")
    df = df.select(*[F.col(c).cast("string") for c in wanted if c in df.columns],
                   F.col("_metadata.file_path").alias("file"))
    return df.mapInArrow(functools.partial(_parquet_body, **kw), spark_schema(INGEST_SCHEMA))


def ingest_frame(spark, sources: list[Source], cfg: PipelineConfig):
    """The whole ingest stage as one DataFrame of INGEST_SCHEMA rows (kept and rejected)."""
    frames = []
    listing = listing_frame(spark, sources, cfg)
    if listing is not None:
        frames.append(read_frame(listing, cfg))
    frames += [dataset_frame(spark, s, cfg) for s in sources if s.kind in ("jsonl", "parquet")]
    return functools.reduce(lambda a, b: a.unionByName(b), frames)
