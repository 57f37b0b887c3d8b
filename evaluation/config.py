"""The evaluation's settings in one typed record: defaults, checks that name the bad key, and the seed's presets."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

MODES = ("greedy", "sample", "beam")


class SettingsError(ValueError):
    """An unknown setting, or a value the evaluation cannot run with; the message names the key."""


@dataclass(frozen=True)
class EvalSettings:
    benchmark: str = "humaneval"      # humaneval | humaneval-rust | path to a JSONL file of problems
    limit: int | None = None          # only the first N problems
    mode: str = "greedy"              # greedy | sample (temperature + top-p) | beam
    n: int = 1                        # completions per problem (greedy: 1)
    temperature: float = 0.2
    top_p: float = 0.95
    num_beams: int = 4
    k: tuple[int, ...] = (1,)         # pass@k to report
    max_new_tokens: int = 256
    batch_size: int = 8               # sequences per generate() call
    seed: int = 1234
    device: str = "cpu"
    workers: int = 2                  # sandboxes running at once
    wall_seconds: float = 10.0        # per sample
    cpu_seconds: int = 10
    memory_mb: int = 1024
    processes: int = 32
    progress: bool = True
    extra: dict = field(default_factory=dict, compare=False)  # free-form notes copied into eval.json

    @classmethod
    def from_kwargs(cls, **kwargs) -> EvalSettings:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise SettingsError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
        if "k" in kwargs:
            kwargs["k"] = parse_ks(kwargs["k"])
        return cls(**kwargs).checked()

    def checked(self) -> EvalSettings:
        if self.mode not in MODES:
            raise SettingsError(f"mode={self.mode!r}: choose one of {', '.join(MODES)}")
        if self.n < 1:
            raise SettingsError(f"n={self.n}: need at least one completion per problem")
        if self.mode == "greedy" and self.n != 1:
            raise SettingsError(f"n={self.n} with mode=greedy: greedy decoding gives one completion; use mode=sample")
        if self.mode == "beam" and self.n > self.num_beams:
            raise SettingsError(f"n={self.n} > num_beams={self.num_beams}: beam search returns at most num_beams")
        if self.mode == "sample" and not (self.temperature > 0 and 0 < self.top_p <= 1):
            raise SettingsError(f"temperature={self.temperature}, top_p={self.top_p}: need temperature > 0 "
                                "and 0 < top_p <= 1")
        if any(k < 1 or k > self.n for k in self.k):
            raise SettingsError(f"k={list(self.k)}: every k must be between 1 and n={self.n}")
        for key in ("max_new_tokens", "batch_size", "workers", "cpu_seconds", "memory_mb", "processes"):
            if getattr(self, key) < 1:
                raise SettingsError(f"{key}={getattr(self, key)}: must be at least 1")
        if self.limit is not None and self.limit < 1:
            raise SettingsError(f"limit={self.limit}: must be at least 1 (or None for every problem)")
        return self

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["k"] = list(self.k)
        return d


def parse_ks(value) -> tuple[int, ...]:
    """'1,10' or [1, 10] -> (1, 10)."""
    try:
        items = value.split(",") if isinstance(value, str) else list(value)
        return tuple(sorted({int(x) for x in items}))
    except (TypeError, ValueError):
        raise SettingsError(f"k={value!r}: give integers such as 1,10") from None


# The seed's three ways to score pass@1: sampling at T=0.2, top-p 0.95, n=10; greedy; beam search.
PRESETS = {
    "sample": {"mode": "sample", "n": 10, "temperature": 0.2, "top_p": 0.95, "k": (1, 10)},
    "greedy": {"mode": "greedy", "n": 1, "k": (1,)},
    "beam": {"mode": "beam", "n": 1, "num_beams": 4, "k": (1,)},
}
