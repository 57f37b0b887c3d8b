"""Tokenizer training (byte-level BPE), its transformers files, and the fast tiktoken encoder that serves it."""
