"""Telling a tree-sitter tree where its text changed (replaced character spans), for an incremental re-parse."""
from __future__ import annotations


def _point(source: bytes, offset: int) -> tuple[int, int]:
    """(row, byte column) of a byte offset, as tree-sitter counts them."""
    return source.count(b"\n", 0, offset), offset - (source.rfind(b"\n", 0, offset) + 1)


def edit_tree(tree, old_text: str, old_source: bytes, replacements: list[tuple[int, int, str]]) -> None:
    """Record in `tree`, parsed from old_source (the UTF-8 of old_text), that each (start, end, new) character span
    of old_text (disjoint, in text order) became `new`. The edits go in from the last one, so that each one's
    offsets in the old text are still offsets in the text the tree describes at that moment."""
    spans, char_pos, byte_pos = [], 0, 0
    for start, end, new in replacements:
        byte_pos += len(old_text[char_pos:start].encode("utf-8"))
        start_byte = byte_pos
        byte_pos += len(old_text[start:end].encode("utf-8"))
        char_pos = end
        spans.append((start_byte, byte_pos, new.encode("utf-8")))
    for start_byte, old_end_byte, new in reversed(spans):
        start_point = _point(old_source, start_byte)
        lines = new.count(b"\n")
        new_end_point = (start_point[0] + lines, len(new) - new.rfind(b"\n") - 1) if lines else \
            (start_point[0], start_point[1] + len(new))
        tree.edit(start_byte=start_byte, old_end_byte=old_end_byte, new_end_byte=start_byte + len(new),
                  start_point=start_point, old_end_point=_point(old_source, old_end_byte),
                  new_end_point=new_end_point)
