"""Runs stages in order into a run folder: skip finished ones, commit each atomically, reconcile, write run.json."""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field

from common.typed_config import ConfigError, fingerprint, fingerprint_view, to_yaml
from pipeline import __version__
from pipeline.config import PipelineConfig
from pipeline.ingest.fsio import to_uri
from pipeline.ingest.inputs import resolve
from pipeline.ingest.spark_ingest import ingest_frame
from pipeline.progress import Quiet
from pipeline.spark import commit
from pipeline.spark.apply import apply_stage, arrow_schema
from pipeline.spark.hadoop_fs import HadoopFS
from pipeline.spark.query_settings import one_task_per_file, query_settings
from pipeline.spark.session import get_session
from pipeline.stages import REGISTRY, batch_stage, in_pipeline_order, section, step_name, steps, upstream_candidates
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
    kept_table: str | None  # None: a row pass's stage before its last, whose kept rows are not written
    rejected_table: str
    fingerprint: str
    rows_in: int
    kept: int
    rejected: int
    mb_in: float
    mb_kept: float
    seconds: float
    rejected_by_reason: dict = field(default_factory=dict)
    kept_by: dict = field(default_factory=dict)
    kept_sums: dict = field(default_factory=dict)
    rejected_mb_by_reason: dict = field(default_factory=dict)
    extra_tables: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)


def _finished(fs: HadoopFS, stage_uri: str) -> dict | None:
    text = fs.read_text(f"{stage_uri}/{SUCCESS}")
    return json.loads(text) if text else None


class Runner:
    def __init__(self, cfg: PipelineConfig, spark=None, progress=None):
        """progress: told as each stage starts and ends (pipeline.progress.Printed in the CLI; default: Quiet)."""
        if not cfg.run.output:
            raise ConfigError("config key 'run.output' is empty: give --output DIR")
        self.cfg = cfg
        self.spark = spark or get_session(cfg.spark)
        self.fs = HadoopFS(self.spark)
        self.out = to_uri(cfg.run.output).rstrip("/")
        self.progress = progress or Quiet()

    @property
    def staging_root(self) -> str:
        return f"{self.out}/_staging"

    def stage_uri(self, name: str) -> str:
        return f"{self.out}/{name}"

    # -- the run -------------------------------------------------------------------------------------------
    def run(self) -> dict:
        names = in_pipeline_order(self.cfg.run.stages)
        for name in names:  # settings only a stage can judge fail here, before any job runs
            if not REGISTRY[name].source and hasattr(stage := batch_stage(name, self.cfg), "check"):
                stage.check()
        self.fs.mkdirs(self.out)
        # half-written outputs of a killed run (one run per output folder at a time)
        self.fs.delete(self.staging_root)
        self.fs.write_text(f"{self.out}/config.yaml", to_yaml(self.cfg))
        results: list[StageResult] = []
        done: dict[str, tuple] = {}  # stage -> (kept table, fingerprint, kept rows), for the stages after it
        index = 1
        for step in steps(names, self.cfg.run.fuse_row_stages):
            with self.progress.stage(step_name(step), index, len(names)) as report:
                upstream = self._upstream(step[0], names, done)
                ran = self._run_pass(step, upstream) if len(step) > 1 else [self._run_stage(step[0], upstream)]
                report(ran)
            for result in ran:
                results.append(result)
                done[result.name] = (result.kept_table, result.fingerprint, result.kept)
            index += len(step)
            self._write_run_json(results, final=False)
        if not self.cfg.run.report:  # a step of a larger run (the data DAG): its last step writes both, once
            summary = self._write_run_json(results, final=False)
            self.fs.delete(self.staging_root)
            return summary
        with self.progress.phase("rejects table and data portrait"):
            summary = self._write_run_json(results, final=True)
            self.write_portrait(summary)
        self.fs.delete(self.staging_root)
        return summary

    def write_portrait(self, summary: dict) -> None:
        """report.json and report.html beside run.json (rebuilt on every run: a few small jobs)."""
        from pipeline.portrait.collect import collect
        from pipeline.portrait.render import render

        data = collect(self.spark, self.fs, summary)
        self.fs.write_text(f"{self.out}/report.json", json.dumps(data, indent=2))
        self.fs.write_text(f"{self.out}/report.html", render(data))

    def _upstream(self, name: str, names: list[str], done: dict):
        """(kept table, fingerprint, rows) feeding `name`: none for a source stage; else the nearest main stage
        before it that ran in this invocation or is finished in the run folder; or, for the first stage of the
        list, tables given as inputs."""
        if REGISTRY[name].source:
            return None
        candidates = upstream_candidates(name)
        for before in candidates:
            if before in done:
                return done[before]
        if name == names[0] and self.cfg.run.inputs:  # e.g. `pipeline filter --input ingest/status=kept`
            uris = [to_uri(i) for i in self.cfg.run.inputs]
            return (",".join(uris), fingerprint("table", uris), self.spark.read.parquet(*uris).count())
        for before in candidates:
            finished = _finished(self.fs, self.stage_uri(before))
            if finished is not None and finished["result"].get("kept_table") is None:
                raise ConfigError(
                    f"stage '{name}' reads the kept rows of '{before}', which ran in one pass with the stages after it "
                    f"(only the pass's last stage keeps them): run '{before}' again with '{name}' in run.stages, or "
                    f"set run.fuse_row_stages=false for both")
            if finished is not None:
                return (commit.part_uri(self.stage_uri(before), STATUS_KEPT), finished["fingerprint"],
                        finished["counts"]["kept"])
        raise ConfigError(f"stage '{name}' reads the output of '{candidates[0]}', which is not finished in "
                          f"{self.out}: add '{candidates[0]}' to run.stages or give --input TABLE")

    def _fingerprint(self, name: str, upstream) -> str:
        if REGISTRY[name].source:
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
        df, stage = self._frame(name, upstream)
        commit.write_partitioned(df, staging, self.cfg.run.keep_rejected_content)
        self.spark.catalog.clearCache()
        self.fs.mkdirs(staging)
        if self.fs.exists(f"{staging}/{SUCCESS}"):  # a committer that ignored our setting
            self.fs.delete(f"{staging}/{SUCCESS}")
        counts = commit.measure(self.spark, self.fs, staging, stage.tally if stage else (), stage.sums if stage else ())
        one_to_one = stage is not None and stage.one_row_per_input
        rows_in = upstream[2] if one_to_one else counts["kept"] + counts["rejected"]
        if rows_in != counts["kept"] + counts["rejected"]:
            raise ReconciliationError(f"stage {name}: {rows_in} rows in, but {counts['kept']} kept + "
                                      f"{counts['rejected']} rejected were written")
        result = StageResult(
            name=name, status="ran", path=uri, kept_table=commit.part_uri(uri, STATUS_KEPT),
            rejected_table=commit.part_uri(uri, STATUS_REJECTED), fingerprint=fp, rows_in=rows_in,
            kept=counts["kept"], rejected=counts["rejected"], mb_in=round(counts["mb_kept"] + counts["mb_rejected"], 3),
            mb_kept=counts["mb_kept"], seconds=0.0, rejected_by_reason=counts["rejected_by_reason"],
            kept_by=counts["kept_by"], kept_sums=counts["kept_sums"],
            rejected_mb_by_reason=counts["rejected_mb_by_reason"])
        result.stats = dict(getattr(stage, "stats", {}) or {})
        kept_df = commit.read_part(self.spark, self.fs, staging, STATUS_KEPT)
        for extra, extra_df in (stage.extra_outputs(kept_df) if stage and kept_df is not None else {}).items():
            extra_df.write.mode("overwrite").parquet(f"{staging}/{extra}")
            result.extra_tables[extra] = f"{uri}/{extra}"
        self.fs.write_text(f"{staging}/config.json", json.dumps(fingerprint_view(section(name, self.cfg)), indent=2))
        self._commit(staging, uri, fp, counts, result, seconds=round(time.time() - t0, 2))
        return result

    def _run_pass(self, step: tuple[str, ...], upstream) -> list[StageResult]:
        """Consecutive row-local stages as one job: one read, one RowPass over each batch, one write partitioned by
        the stage each row left at, then each stage's folder committed from its part (its rejects; the last stage
        also the kept rows). All skip when all are finished with the same fingerprints; otherwise all rerun."""
        from pyspark.sql import functions as F

        from pipeline.row_pass import KEPT_BY_ALL, RowPass
        from pipeline.spark import row_pass_commit

        fps, before = [], upstream
        for name in step:
            fps.append(self._fingerprint(name, before))
            before = (None, fps[-1], None)
        finished = [_finished(self.fs, self.stage_uri(name)) for name in step]
        if not self.cfg.run.force and all(f and f["fingerprint"] == fp for f, fp in zip(finished, fps)):
            return [StageResult(**{**f["result"], "status": "skipped", "seconds": 0.0}) for f in finished]
        t0, tag = time.time(), uuid.uuid4().hex[:12]
        stages = [batch_stage(name, self.cfg) for name in step]
        row_pass = RowPass(stages)
        source = self.spark.read.parquet(*upstream[0].split(","))
        whole = f"{self.staging_root}/{step[0]}-to-{step[-1]}-{tag}"
        out = source.mapInArrow(row_pass, spark_schema(row_pass.output_schema(arrow_schema(source))))
        with query_settings(self.spark, one_task_per_file(self.spark)):
            row_pass_commit.write_by_stage(out, whole, self.cfg.run.keep_rejected_content)
        self.spark.catalog.clearCache()
        bytes_in = int(source.agg(F.sum("size_bytes")).first()[0] or 0)
        written, counts = row_pass_commit.measure_pass(self.spark, whole, stages, bytes_in)
        if written != upstream[2]:
            raise ReconciliationError(f"row pass {step_name(step)}: {upstream[2]} rows in, but {written} were written")
        results: list[StageResult] = []
        for i, (name, fp, c) in enumerate(zip(step, fps, counts)):
            last = i == len(step) - 1
            uri, staging = self.stage_uri(name), f"{self.staging_root}/{name}-{tag}"
            self.fs.mkdirs(staging)
            moves = [(name, STATUS_REJECTED)] + ([(KEPT_BY_ALL, STATUS_KEPT)] if last else [])
            for left_at, status in moves:
                if self.fs.exists(part := row_pass_commit.part_uri(whole, left_at)):
                    self.fs.rename(part, commit.part_uri(staging, status))
            result = StageResult(
                name=name, status="ran", path=uri, kept_table=commit.part_uri(uri, STATUS_KEPT) if last else None,
                rejected_table=commit.part_uri(uri, STATUS_REJECTED), fingerprint=fp,
                rows_in=upstream[2] if i == 0 else results[-1].kept, kept=c["kept"], rejected=c["rejected"],
                mb_in=round(c["mb_kept"] + c["mb_rejected"], 3), mb_kept=c["mb_kept"], seconds=0.0,
                rejected_by_reason=c["rejected_by_reason"], kept_by=c["kept_by"], kept_sums=c["kept_sums"],
                rejected_mb_by_reason=c["rejected_mb_by_reason"], stats={"row_pass": step_name(step)})
            self.fs.write_text(f"{staging}/config.json", json.dumps(fingerprint_view(section(name, self.cfg)),
                                                                    indent=2))
            results.append(result)
            self._commit(staging, uri, fp, c, result, seconds=round(time.time() - t0, 2) if last else 0.0)
        self.fs.delete(whole)
        return results

    def _commit(self, staging: str, uri: str, fp: str, counts: dict, result: StageResult, seconds: float) -> None:
        """The old output goes, the staged one moves in, and only then does _SUCCESS appear."""
        if self.fs.exists(uri):
            self.fs.delete(uri)
        self.fs.rename(staging, uri)
        result.seconds = seconds
        self.fs.write_text(f"{uri}/{SUCCESS}", json.dumps(
            {"fingerprint": fp, "counts": counts, "result": asdict(result), "version": __version__}, indent=2))

    def _frame(self, name: str, upstream):
        """(DataFrame of the stage's rows, the pure stage object or None for ingest)."""
        if name == "ingest":
            return ingest_frame(self.spark, resolve(self.cfg.run.inputs, self.cfg.ingest.format), self.cfg), None
        stage = batch_stage(name, self.cfg)
        return apply_stage(self.spark.read.parquet(*upstream[0].split(",")), stage), stage

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
            "final_table": [r for r in results if REGISTRY[r.name].main][-1].kept_table if any(
                REGISTRY[r.name].main for r in results) else None,
            "rejects_table": self._rejects_table(results) if final else None,
        }
        self.fs.write_text(f"{self.out}/run.json", json.dumps(summary, indent=2))
        return summary


def run(cfg: PipelineConfig, spark=None, progress=None) -> dict:
    return Runner(cfg, spark, progress).run()
