"""The stage registry: pipeline order, and how each stage is built from the config tree."""
from __future__ import annotations

from pipeline.config import STAGES, PipelineConfig
from pipeline.filter import FileFilter
from pipeline.stage import BatchStage

SOURCE_STAGES = ("ingest",)  # stages that read raw inputs rather than the previous stage's kept table


def batch_stage(name: str, cfg: PipelineConfig) -> BatchStage:
    """The pure stage object for a non-source stage, configured by its own section."""
    builders = {"filter": lambda: FileFilter(cfg.filter)}
    return builders[name]()


def section(name: str, cfg: PipelineConfig):
    """The config section whose values decide a stage's output (part of its fingerprint)."""
    return getattr(cfg, name)


def in_pipeline_order(names: list[str]) -> list[str]:
    """Stages sorted into pipeline order, so `--stages filter,ingest` still runs ingest first."""
    return sorted(dict.fromkeys(names), key=STAGES.index)
