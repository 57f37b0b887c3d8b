"""The leaf every wing stands on: typed config trees, atomic writes, JSON lines, trigger-form and path checks."""
