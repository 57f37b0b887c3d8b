"""Ingest: find raw files (folders, archives, datasets), read them safely, decode them into the files table."""
