"""Deduplication: global exact (content hash), file-level near (MinHash LSH), segment-level (tree-sitter segments)."""
