"""The sft mode's input on Spark: every task's samples (kept pairs, chat_rounds JSONL lines) in one DataFrame, their
counts per task, the held-out samples and the rejects written beside the shards, and the training rows to pack."""
from __future__ import annotations

import functools

from common.typed_config import ConfigError
from pipeline.config import TokenizeConfig
from pipeline.ingest.fsio import to_uri
from pipeline.tokenize import samples as S
from pipeline.tokenize.tasks import CHAT_ROUNDS, HELD_OUT, PAIRS, REJECTED, TRAIN, TaskSpec
from schemas.sft_holdout import HELDOUT_DIR, SFT_HELDOUT, prompt_and_reference
from schemas.spark import spark_schema

REJECTS_DIR = "rejects"  # beside the shards: JSON lines of (task, id, reason, detail, raw, file)


def _pairs(spark, inputs: list[str], specs: list[TaskSpec], holdout, seed: int):
    if not inputs:
        raise ConfigError(f"the pair tasks ({', '.join(s.name for s in specs)}) need the sft stage's kept pairs "
                          "(<run>/sft/status=kept) as input, or their weight set to 0")
    df = spark.read.parquet(*inputs)
    missing = set(S.PAIR_COLUMNS) - set(df.columns)
    if missing:
        raise ConfigError(f"the pair tasks ({', '.join(s.name for s in specs)}) read columns {sorted(missing)} that "
                          f"{inputs} lacks: give the sft stage's kept pairs (<run>/sft/status=kept) as --input, or "
                          "set those tasks' weight to 0")
    body = functools.partial(S.pair_batches, specs=specs, holdout=holdout, seed=seed)
    return df.select(*S.PAIR_COLUMNS).mapInArrow(body, spark_schema(S.SAMPLES))


def _chat(spark, spec: TaskSpec, holdout, seed: int):
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    from pipeline.spark.hadoop_fs import HadoopFS

    uri = to_uri(spec.path)
    if not any(c in spec.path for c in "*?[{") and not HadoopFS(spark).exists(uri):  # before Spark logs a trace
        raise ConfigError(f"tokenize.tasks.{spec.name}.path={spec.path!r} does not exist ({uri})")
    try:
        lines = spark.read.text(uri).select("value", F.col("_metadata.file_path").alias("file"))
    except AnalysisException as e:
        raise ConfigError(f"tokenize.tasks.{spec.name}.path={spec.path!r} cannot be read: "
                          f"{str(e).splitlines()[0]}") from None
    body = functools.partial(S.chat_batches, spec=spec, holdout=holdout, seed=seed)
    return lines.mapInArrow(body, spark_schema(S.SAMPLES))


def read_samples(spark, cfg: TokenizeConfig, specs: tuple[TaskSpec, ...], pair_inputs: list[str]):
    """Every task's samples as one DataFrame of SAMPLES (persisted: counted, written and packed from one read)."""
    from pyspark import StorageLevel

    holdout = (cfg.sft_holdout_fraction, cfg.sft_holdout_seed)
    pair_specs = [s for s in specs if s.kind == PAIRS]
    frames = [_pairs(spark, pair_inputs, pair_specs, holdout, cfg.seed)] if pair_specs else []
    frames += [_chat(spark, s, holdout, cfg.seed) for s in specs if s.kind == CHAT_ROUNDS]
    df = functools.reduce(lambda a, b: a.unionByName(b), frames)
    return df.persist(StorageLevel.MEMORY_AND_DISK)


def task_counts(samples, specs: tuple[TaskSpec, ...]) -> dict[str, dict]:
    """Per task: rows in (pairs or lines read), rejected by reason, held out, available for training, and taken
    (the copies the weights draw); rows in = available + held out + rejected."""
    from pyspark.sql import functions as F

    rows = samples.groupBy("task", "split", "reject_reason").agg(
        F.count(F.lit(1)).alias("n"), F.sum("copies").alias("copies")).collect()
    out = {s.name: {"id": s.task_id, "kind": s.kind, "weight": s.weight, **({"path": s.path} if s.path else {}),
                    "rows_in": 0, "available": 0, "taken": 0, "held_out": 0, "rejected": 0,
                    "rejected_by_reason": {}} for s in specs}
    for r in rows:
        t = out[r["task"]]
        t["rows_in"] += r["n"]
        if r["split"] == TRAIN:
            t["available"] += r["n"]
            t["taken"] += int(r["copies"] or 0)
        elif r["split"] == HELD_OUT:
            t["held_out"] += r["n"]
        else:
            t["rejected"] += r["n"]
            t["rejected_by_reason"][r["reject_reason"]] = r["n"]
    for t in out.values():
        t["rejected_by_reason"] = dict(sorted(t["rejected_by_reason"].items()))
    return out


def _heldout_batches(batches):
    import pyarrow as pa

    for batch in batches:
        rows = []
        for r in batch.select(["task", "id", "messages"]).to_pylist():
            prompt, reference = prompt_and_reference(r["messages"])
            rows.append({"task": r["task"], "id": r["id"], "messages": prompt, "reference": reference})
        yield pa.RecordBatch.from_pylist(rows, schema=SFT_HELDOUT)


def write_side_tables(samples, out_uri: str) -> None:
    """<out>/heldout (SFT_HELDOUT) and <out>/rejects as JSON lines, one part file each, sorted by task and id."""
    from pyspark.sql import functions as F

    held = samples.filter(F.col("split") == HELD_OUT).mapInArrow(_heldout_batches, spark_schema(SFT_HELDOUT))
    held.repartition(1).sortWithinPartitions("task", "id").write.json(f"{out_uri}/{HELDOUT_DIR}")
    rejected = samples.filter(F.col("split") == REJECTED).select(
        "task", "id", F.col("reject_reason").alias("reason"), F.col("reject_detail").alias("detail"), "raw", "file")
    rejected.repartition(1).sortWithinPartitions("task", "id").write.json(f"{out_uri}/{REJECTS_DIR}")


def training_rows(samples):
    """The samples to pack, each as often as its weight drew: id (the sample id and the copy number), task_id,
    messages."""
    from pyspark.sql import functions as F

    train = samples.filter((F.col("split") == TRAIN) & (F.col("copies") > 0))
    copy = F.explode(F.sequence(F.lit(0), F.col("copies") - 1)).alias("_copy")
    return (train.select("id", "task_id", "messages", copy)
                 .select(F.concat_ws(":", "id", F.col("_copy").cast("string")).alias("id"), "task_id", "messages"))
