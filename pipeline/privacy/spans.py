"""The detectors' common vocabulary: the types they report and the span of text each finding covers."""
from __future__ import annotations

from typing import NamedTuple

EMAIL, IP_ADDRESS, KEY, PASSWORD, PRIVATE_KEY = TYPES = ("EMAIL", "IP_ADDRESS", "KEY", "PASSWORD", "PRIVATE_KEY")


class Span(NamedTuple):
    start: int
    end: int
    type: str
