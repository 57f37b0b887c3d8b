"""Evaluation: pass@k on HumanEval-shaped benchmarks with sandboxed execution, and BLEU of generated comments."""
