"""Decontamination: files holding a benchmark item (HumanEval, extra JSONL sets) verbatim or by n-gram overlap."""
