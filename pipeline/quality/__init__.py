"""Program analysis: tree-sitter parsing, per-file code metrics and a composite quality score (second-level filter)."""
