"""Runs stages in order into a run folder: skip finished ones, commit each atomically, reconcile, write run.json."""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field

from pipeline import __version__
from pipeline.config import PipelineConfig
from pipeline.ingest.fsio import to_uri
from pipeline.ingest.inputs import resolve
from pipeline.ingest.spark_ingest import ingest_frame
from pipeline.spark import commit
from pipeline.spark.hadoop_fs import HadoopFS
from pipeline.spark.session import get_session
from pipeline.stages import SOURCE_STAGES, batch_stage, in_pipeline_order, section
from pipeline.typed_config import ConfigError, fingerprint, to_dict, to_yaml
from schemas import STATUS_KEPT, STATUS_REJECTED
from schemas.spark import spark_schema

SUCCESS = "_SUCCESS"


class ReconciliationError(RuntimeError):
    """A stage's rows in differ from kept + rejected: something was lost or duplicated."""


@dataclass
class StageResult:
    name: str
    status: str  # "ran" or "skipped"
    path: str
    kept_table: str
    rejected_table: str
    fingerprint: str
    rows_in: int
    kept: int
    rejected: int
    mb_in: float
    mb_kept: float
    seconds: float
    rejected_by_reason: dict = field(default_factory=dict)


def _finished(fs: HadoopFS, stage_uri: str) -> dict | None:
    text = fs.read_text(f"{stage_uri}/{SUCCESS}")
    return json.loads(text) if text else None


class Runner:
    def __init__(self, cfg: PipelineConfig, spark=None):
        if not cfg.run.output:
            raise ConfigError("config key 'run.output' is empty: give --output DIR")
        self.cfg = cfg
        self.spark = spark or get_session(cfg.spark)
        self.fs = HadoopFS(self.spark)
        self.out = to_uri(cfg.run.output).rstrip("/")

    @property
    def staging_root(self) -> str:
        return f"{self.out}/_staging"

    def stage_uri(self, name: str) -> str:
        return f"{self.out}/{name}"

    # -- the run -------------------------------------------------------------------------------------------
    def run(self) -> dict:
        names = in_pipeline_order(self.cfg.run.stages)
        self.fs.mkdirs(self.out)
        # half-written outputs of a killed run (one run per output folder at a time)
        self.fs.delete(self.staging_root)
        self.fs.write_text(f"{self.out}/config.yaml", to_yaml(self.cfg))
        results: list[StageResult] = []
        upstream = self._initial_upstream(names[0])
        for name in names:
            result = self._run_stage(name, upstream)
            results.append(result)
            upstream = (result.kept_table, result.fingerprint, result.kept)
            self._write_run_json(results, final=False)
        summary = self._write_run_json(results, final=True)
        self.fs.delete(self.staging_root)
        return summary

    def _initial_upstream(self, first: str):
        """(kept table, fingerprint, rows) feeding the first stage: none for ingest, else a table or this run's."""
        if first in SOURCE_STAGES:
            return None
        if self.cfg.run.inputs:  # a files table given directly, e.g. `pipeline filter --input ingest/status=kept`
            uris = [to_uri(i) for i in self.cfg.run.inputs]
            df = self.spark.read.parquet(*uris)
            return (",".join(uris), fingerprint("table", uris), df.count())
        from pipeline.config import STAGES

        before = STAGES[STAGES.index(first) - 1]
        done = _finished(self.fs, self.stage_uri(before))
        if done is None:
            raise ConfigError(f"stage '{first}' reads the output of '{before}', which is not finished in "
                              f"{self.out}: add '{before}' to run.stages or give --input TABLE")
        return (commit.part_uri(self.stage_uri(before), STATUS_KEPT), done["fingerprint"], done["counts"]["kept"])

    def _fingerprint(self, name: str, upstream) -> str:
        if name in SOURCE_STAGES:
            inputs = [tuple(s) for s in resolve(self.cfg.run.inputs, self.cfg.ingest.format)]
            return fingerprint(name, __version__, section(name, self.cfg), inputs, self.cfg.run.keep_rejected_content)
        return fingerprint(name, __version__, section(name, self.cfg), upstream[1], self.cfg.run.keep_rejected_content)

    def _run_stage(self, name: str, upstream) -> StageResult:
        uri = self.stage_uri(name)
        fp = self._fingerprint(name, upstream)
        done = _finished(self.fs, uri)
        if done and done["fingerprint"] == fp and not self.cfg.run.force:
            return StageResult(**{**done["result"], "status": "skipped", "seconds": 0.0})
        t0 = time.time()
        staging = f"{self.staging_root}/{name}-{uuid.uuid4().hex[:12]}"
        df = self._frame(name, upstream)
        commit.write_partitioned(df, staging, self.cfg.run.keep_rejected_content)
        self.spark.catalog.clearCache()
        self.fs.mkdirs(staging)
        if self.fs.exists(f"{staging}/{SUCCESS}"):  # a committer that ignored our setting
            self.fs.delete(f"{staging}/{SUCCESS}")
        counts = commit.measure(self.spark, self.fs, staging)
        rows_in = upstream[2] if upstream else counts["kept"] + counts["rejected"]
        if rows_in != counts["kept"] + counts["rejected"]:
            raise ReconciliationError(f"stage {name}: {rows_in} rows in, but {counts['kept']} kept + "
                                      f"{counts['rejected']} rejected were written")
        result = StageResult(
            name=name, status="ran", path=uri, kept_table=commit.part_uri(uri, STATUS_KEPT),
            rejected_table=commit.part_uri(uri, STATUS_REJECTED), fingerprint=fp, rows_in=rows_in,
            kept=counts["kept"], rejected=counts["rejected"], mb_in=round(counts["mb_kept"] + counts["mb_rejected"], 3),
            mb_kept=counts["mb_kept"], seconds=0.0, rejected_by_reason=counts["rejected_by_reason"])
        self.fs.write_text(f"{staging}/config.json", json.dumps(to_dict(section(name, self.cfg)), indent=2))
        # commit: the old output goes, the new one moves in, and only then does _SUCCESS appear
        if self.fs.exists(uri):
            self.fs.delete(uri)
        self.fs.rename(staging, uri)
        result.seconds = round(time.time() - t0, 2)
        self.fs.write_text(f"{uri}/{SUCCESS}", json.dumps(
            {"fingerprint": fp, "counts": counts, "result": asdict(result), "version": __version__}, indent=2))
        return result

    def _frame(self, name: str, upstream):
        if name == "ingest":
            return ingest_frame(self.spark, resolve(self.cfg.run.inputs, self.cfg.ingest.format), self.cfg)
        stage = batch_stage(name, self.cfg)
        df = self.spark.read.parquet(*upstream[0].split(","))
        schema = stage.output_schema(_arrow_schema(df))
        return df.mapInArrow(stage, spark_schema(schema))

    # -- outputs -------------------------------------------------------------------------------------------
    def _rejects_table(self, results: list[StageResult]) -> str:
        """Union of every stage's rejected rows as one REJECTS table (rebuilt only when a stage changed)."""
        uri = f"{self.out}/rejects"
        fp = fingerprint("rejects", [r.fingerprint for r in results])
        done = _finished(self.fs, uri)
        if done and done["fingerprint"] == fp:
            return uri
        parts = [commit.rejects_projection(self.spark.read.parquet(r.rejected_table), r.name)
                 for r in results if r.rejected and self.fs.exists(r.rejected_table)]
        staging = f"{self.staging_root}/rejects-{uuid.uuid4().hex[:12]}"
        if parts:
            df = parts[0]
            for p in parts[1:]:
                df = df.unionByName(p)
            df.write.mode("overwrite").parquet(staging)
        else:
            from schemas import REJECTS

            self.spark.createDataFrame([], spark_schema(REJECTS)).write.mode("overwrite").parquet(staging)
        if self.fs.exists(uri):
            self.fs.delete(uri)
        self.fs.rename(staging, uri)
        self.fs.write_text(f"{uri}/{SUCCESS}", json.dumps({"fingerprint": fp}))
        return uri

    def _write_run_json(self, results: list[StageResult], final: bool) -> dict:
        summary = {
            "version": __version__,
            "output": self.out,
            "config": f"{self.out}/config.yaml",
            "finished": final,
            "stages": [asdict(r) for r in results],
            "final_table": results[-1].kept_table,
            "rejects_table": self._rejects_table(results) if final else None,
        }
        self.fs.write_text(f"{self.out}/run.json", json.dumps(summary, indent=2))
        return summary


def _arrow_schema(df):
    """The Arrow schema of a DataFrame (for a stage to declare what it adds)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(df.schema)


def run(cfg: PipelineConfig, spark=None) -> dict:
    return Runner(cfg, spark).run()
