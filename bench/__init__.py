"""Benchmarks that print their figures against a named baseline."""
