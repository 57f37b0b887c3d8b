"""The stage registry: pipeline order, what each stage reads, and how it is built from the config tree."""
from __future__ import annotations

from typing import NamedTuple

from pipeline.config import STAGES, PipelineConfig
from pipeline.stage import BatchStage


class StageSpec(NamedTuple):
    upstream: str | None  # the stage whose kept table it reads; None: it reads the raw inputs
    main: bool            # its kept table continues the pipeline (false: a side table such as the sft pairs)


SPECS: dict[str, StageSpec] = {
    "ingest": StageSpec(None, True),
    "filter": StageSpec("ingest", True),
    "quality": StageSpec("filter", True),
    "sft": StageSpec("quality", False),
}
assert tuple(SPECS) == STAGES


def batch_stage(name: str, cfg: PipelineConfig) -> BatchStage:
    """The pure stage object for a stage that reads a table, configured by its own section."""
    from pipeline.filter import FileFilter
    from pipeline.quality.stage import QualityScorer
    from pipeline.sft.stage import SftExtractor

    builders = {"filter": lambda: FileFilter(cfg.filter), "quality": lambda: QualityScorer(cfg.quality),
                "sft": lambda: SftExtractor(cfg.sft, cfg.quality.parse_budget_ms)}
    return builders[name]()


def section(name: str, cfg: PipelineConfig):
    """The config section whose values decide a stage's output (part of its fingerprint)."""
    if name == "sft":  # pairs depend on the parse budget too
        return {"sft": cfg.sft, "parse_budget_ms": cfg.quality.parse_budget_ms}
    return getattr(cfg, name)


def in_pipeline_order(names: list[str]) -> list[str]:
    """Stages sorted into pipeline order, so `--stages filter,ingest` still runs ingest first."""
    return sorted(dict.fromkeys(names), key=STAGES.index)
