"""The data portrait: a per-run report (HTML with inline SVG plots, and the same numbers as JSON)."""
