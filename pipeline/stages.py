"""The stage registry: pipeline order, what each stage reads, and how it is built from the config tree."""
from __future__ import annotations

from typing import NamedTuple

from pipeline.config import STAGES, PipelineConfig
from pipeline.stage import BatchStage


class StageSpec(NamedTuple):
    source: bool  # it reads the raw inputs; otherwise the kept table of the nearest main stage before it
    main: bool    # its kept table continues the pipeline (false: a side table such as the sft pairs)


SPECS: dict[str, StageSpec] = {
    "ingest": StageSpec(True, True),
    "filter": StageSpec(False, True),
    "quality": StageSpec(False, True),
    "privacy": StageSpec(False, True),
    "detox": StageSpec(False, True),
    "decontam": StageSpec(False, True),
    "exact": StageSpec(False, True),
    "near": StageSpec(False, True),
    "segments": StageSpec(False, True),
    "resample": StageSpec(False, True),
    "sft": StageSpec(False, False),
}
assert tuple(SPECS) == STAGES


def upstream_candidates(name: str) -> list[str]:
    """Main stages before `name`, nearest first: the first of them that ran or is finished feeds it."""
    return [s for s in reversed(STAGES[:STAGES.index(name)]) if SPECS[s].main]


def batch_stage(name: str, cfg: PipelineConfig) -> BatchStage:
    """The pure stage object for a stage that reads a table, configured by its own section."""
    from pipeline.decontam.stage import Decontaminator
    from pipeline.dedup.stages import ExactDedup, NearDedup, SegmentDedup
    from pipeline.detox.stage import Detoxifier
    from pipeline.filter import FileFilter
    from pipeline.privacy.stage import PrivacyScrubber
    from pipeline.quality.stage import QualityScorer
    from pipeline.resample.stage import Resampler
    from pipeline.sft.stage import SftExtractor

    budget = cfg.quality.parse_budget_ms
    builders = {"filter": lambda: FileFilter(cfg.filter), "quality": lambda: QualityScorer(cfg.quality),
                "privacy": lambda: PrivacyScrubber(cfg.privacy), "detox": lambda: Detoxifier(cfg.detox, budget),
                "decontam": lambda: Decontaminator(cfg.decontam),
                "exact": lambda: ExactDedup(cfg.dedup), "near": lambda: NearDedup(cfg.dedup),
                "segments": lambda: SegmentDedup(cfg.dedup, budget), "resample": lambda: Resampler(cfg.resample),
                "sft": lambda: SftExtractor(cfg.sft, budget)}
    return builders[name]()


def section(name: str, cfg: PipelineConfig):
    """The config section whose values decide a stage's output (part of its fingerprint)."""
    d = cfg.dedup
    if name == "sft":  # pairs depend on the parse budget too
        return {"sft": cfg.sft, "parse_budget_ms": cfg.quality.parse_budget_ms}
    if name == "exact":
        return {}
    if name == "near":
        return {k: getattr(d, k) for k in ("shingle_tokens", "num_perm", "threshold", "seed", "min_tokens", "verify",
                                           "candidate_threshold", "verify_margin", "max_bucket")}
    if name == "segments":
        return {"min_lines": d.segment_min_lines, "max_dup_frac": d.segment_max_dup_frac,
                "parse_budget_ms": cfg.quality.parse_budget_ms}
    return getattr(cfg, name)


def in_pipeline_order(names: list[str]) -> list[str]:
    """Stages sorted into pipeline order, so `--stages filter,ingest` still runs ingest first."""
    return sorted(dict.fromkeys(names), key=STAGES.index)
