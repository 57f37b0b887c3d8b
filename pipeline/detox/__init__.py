"""Detoxification: toxic words in comments and strings, and malicious-code patterns anywhere in a file."""
