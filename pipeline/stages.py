"""The stage registry: one class per stage in pipeline order, read by the CLI, the data DAG, fingerprints, runs."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from pipeline.config import PipelineConfig
    from pipeline.stage import BatchStage

# This module imports no stage module and not the config tree: pipeline/config.py takes its stage names from here,
# and the scheduler imports it with every parse of the DAG files. Each builder imports its stage when it is called.


class Stage:
    """A registry entry. A subclass sets `name` (CLI command, DAG task, run subfolder, config section by default)
    and, unless it reads the raw inputs, `build`."""

    name: ClassVar[str] = ""
    source: ClassVar[bool] = False  # it reads the raw inputs; otherwise the kept table of the nearest main stage before
    main: ClassVar[bool] = True     # its kept table continues the pipeline (false: a side table such as the sft pairs)
    # it decides each row from that row alone: consecutive such stages run as one pass over each batch (RowPass)
    row_local: ClassVar[bool] = False

    @classmethod
    def build(cls, cfg: PipelineConfig) -> BatchStage:
        """The pure stage object, configured from the config tree."""
        raise TypeError(f"stage '{cls.name}' reads the raw inputs: it has no batch stage to build")

    @classmethod
    def section(cls, cfg: PipelineConfig) -> Any:
        """The config values that decide this stage's output (part of its fingerprint)."""
        return getattr(cfg, cls.name)


class Ingest(Stage):
    name, source = "ingest", True


class Filter(Stage):
    name, row_local = "filter", True

    @classmethod
    def build(cls, cfg):
        from pipeline.filter import FileFilter
        return FileFilter(cfg.filter)


class Quality(Stage):
    name, row_local = "quality", True

    @classmethod
    def build(cls, cfg):
        from pipeline.quality.stage import QualityScorer
        return QualityScorer(cfg.quality)


class Privacy(Stage):
    name, row_local = "privacy", True

    @classmethod
    def build(cls, cfg):
        from pipeline.privacy.stage import PrivacyScrubber
        return PrivacyScrubber(cfg.privacy, cfg.quality.parse_budget_ms)


class Detox(Stage):
    name, row_local = "detox", True

    @classmethod
    def build(cls, cfg):
        from pipeline.detox.stage import Detoxifier
        return Detoxifier(cfg.detox, cfg.quality.parse_budget_ms)


class Decontam(Stage):
    name, row_local = "decontam", True

    @classmethod
    def build(cls, cfg):
        from pipeline.decontam.stage import Decontaminator
        return Decontaminator(cfg.decontam)


class Exact(Stage):
    name = "exact"

    @classmethod
    def build(cls, cfg):
        from pipeline.dedup.stages import ExactDedup
        return ExactDedup(cfg.dedup)

    @classmethod
    def section(cls, cfg):
        return {}  # content hashes only: no setting changes which copies are duplicates


class Near(Stage):
    name = "near"
    KEYS = ("shingle_tokens", "num_perm", "threshold", "seed", "min_tokens", "verify", "candidate_threshold",
            "verify_margin", "max_bucket")

    @classmethod
    def build(cls, cfg):
        from pipeline.dedup.stages import NearDedup
        return NearDedup(cfg.dedup)

    @classmethod
    def section(cls, cfg):
        return {k: getattr(cfg.dedup, k) for k in cls.KEYS}


class Segments(Stage):
    name = "segments"

    @classmethod
    def build(cls, cfg):
        from pipeline.dedup.stages import SegmentDedup
        return SegmentDedup(cfg.dedup, cfg.quality.parse_budget_ms)

    @classmethod
    def section(cls, cfg):
        d = cfg.dedup
        return {"min_lines": d.segment_min_lines, "max_dup_frac": d.segment_max_dup_frac,
                "parse_budget_ms": cfg.quality.parse_budget_ms}


class Resample(Stage):
    name = "resample"

    @classmethod
    def build(cls, cfg):
        from pipeline.resample.stage import Resampler
        return Resampler(cfg.resample)


class Sft(Stage):
    name, main = "sft", False

    @classmethod
    def build(cls, cfg):
        from pipeline.sft.stage import SftExtractor
        return SftExtractor(cfg.sft, cfg.quality.parse_budget_ms)

    @classmethod
    def section(cls, cfg):
        return {"sft": cfg.sft, "parse_budget_ms": cfg.quality.parse_budget_ms}  # pairs depend on the parse budget


REGISTRY: dict[str, type[Stage]] = {s.name: s for s in (
    Ingest, Filter, Quality, Privacy, Detox, Decontam, Exact, Near, Segments, Resample, Sft,
)}
STAGE_NAMES = tuple(REGISTRY)
MAIN_STAGES = tuple(name for name, s in REGISTRY.items() if s.main)


def steps(names: list[str], fuse: bool = True) -> list[tuple[str, ...]]:
    """`names` (pipeline order) as units of work: consecutive row-local stages together when `fuse` (one pass, one
    write), every other stage alone."""
    out: list[tuple[str, ...]] = []
    for name in names:
        joins = fuse and out and REGISTRY[name].row_local and REGISTRY[out[-1][-1]].row_local \
            and STAGE_NAMES.index(name) == STAGE_NAMES.index(out[-1][-1]) + 1
        out[-1:] = [out[-1] + (name,)] if joins else [*out[-1:], (name,)]
    return out


def step_name(step: tuple[str, ...]) -> str:
    """A unit's name: the stage, or 'first..last' for a row pass (run subfolders stay per stage)."""
    return step[0] if len(step) == 1 else f"{step[0]}..{step[-1]}"


def upstream_candidates(name: str) -> list[str]:
    """Main stages before `name`, nearest first: the first of them that ran or is finished feeds it."""
    return [s for s in reversed(STAGE_NAMES[:STAGE_NAMES.index(name)]) if REGISTRY[s].main]


def batch_stage(name: str, cfg: PipelineConfig) -> BatchStage:
    """The pure stage object for a stage that reads a table, configured by its own section."""
    return REGISTRY[name].build(cfg)


def section(name: str, cfg: PipelineConfig) -> Any:
    """The config section whose values decide a stage's output (part of its fingerprint)."""
    return REGISTRY[name].section(cfg)


def in_pipeline_order(names: list[str]) -> list[str]:
    """Stages sorted into pipeline order, so `--stages filter,ingest` still runs ingest first."""
    return sorted(dict.fromkeys(names), key=STAGE_NAMES.index)
