"""Where a completion ends, per language: stop sequences for generate() and the cut applied to decoded text."""
from __future__ import annotations

# text that starts something after the function under test
STOPS = {
    "python": ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#"),
    "rust": ("\nfn ", "\n#[", "\n}\n"),
}
# characters of a stop sequence that belong to the completion: Rust's "\n}\n" closes the function itself
KEEP = {"\n}\n": 2}


def stops_for(language: str) -> tuple[str, ...]:
    return STOPS.get(language.lower(), ())


def truncate(text: str, stops: tuple[str, ...]) -> str:
    """text up to its earliest stop sequence (plus the part of it KEEP says to keep)."""
    cut = len(text)
    for stop in stops:
        i = text.find(stop)
        if i != -1:
            cut = min(cut, i + KEEP.get(stop, 0))
    return text[:cut]
