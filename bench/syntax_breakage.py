"""Seeded, realistic breakages of a real file: a deleted line, a closing bracket dropped mid-file, a truncated file.

Bracket positions come from the unmodified file's tree-sitter tree (anonymous bracket tokens), so a bracket inside a
string, a comment or an opaque macro body is never chosen. Each breakage also says whether the copy is broken for
certain whatever the compiler: a dropped closing bracket always is, a truncation is when it cuts inside an open
bracket pair, a deleted line never is for certain (a compiler may still accept the file).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

OPEN, CLOSE = ("(", "[", "{"), (")", "]", "}")
KINDS = ("control", "deleted line", "unbalanced bracket", "truncated")


@dataclass(frozen=True)
class Variant:
    kind: str              # one of KINDS
    text: str
    surely_broken: bool | None  # True: broken whatever the compiler; False: the unmodified file; None: unknown
    where: str             # what was changed, for the listing of disagreements


def bracket_tokens(root) -> list[tuple[int, str]]:
    """(byte offset, bracket) of every anonymous bracket token in the tree, in order."""
    out, cursor, down = [], root.walk(), True
    while True:
        node = cursor.node
        if down and node.child_count == 0 and not node.is_named and node.type in OPEN + CLOSE \
                and node.end_byte - node.start_byte == 1:
            out.append((node.start_byte, node.type))
        if down and cursor.goto_first_child():
            continue
        if cursor.goto_next_sibling():
            down = True
            continue
        if not cursor.goto_parent():
            return out
        down = False


def depth_at(brackets: list[tuple[int, str]], cut: int) -> int:
    """Bracket pairs left open by cutting the file at byte `cut`."""
    return sum(1 if b in OPEN else -1 for pos, b in brackets if pos < cut)


def delete_line(text: str, rng: random.Random) -> Variant | None:
    lines = text.split("\n")
    code = [i for i, line in enumerate(lines) if line.strip()]
    if len(code) < 3:
        return None
    i = rng.choice(code[1:])  # not the first line: a shebang or `<?php` would make this trivial
    return Variant("deleted line", "\n".join(lines[:i] + lines[i + 1:]), None, f"line {i + 1} deleted")


def drop_bracket(source: bytes, brackets: list[tuple[int, str]], rng: random.Random) -> Variant | None:
    """Drop one closing bracket, preferring the middle 60% of the file."""
    closing = [(pos, b) for pos, b in brackets if b in CLOSE]
    middle = [(pos, b) for pos, b in closing if 0.2 * len(source) <= pos <= 0.8 * len(source)]
    if not closing:
        return None
    pos, b = rng.choice(middle or closing)
    line = source[:pos].count(b"\n") + 1
    text = (source[:pos] + source[pos + 1:]).decode("utf-8")
    return Variant("unbalanced bracket", text, True, f"'{b}' dropped on line {line}")


def truncate(source: bytes, brackets: list[tuple[int, str]], rng: random.Random) -> Variant:
    """Cut the file somewhere in its 30%-90% (on a character boundary), as an interrupted download would."""
    cut = rng.randrange(int(0.3 * len(source)), max(int(0.3 * len(source)) + 1, int(0.9 * len(source))))
    while cut > 0 and (source[cut] & 0xC0) == 0x80:  # not inside a UTF-8 sequence
        cut -= 1
    line = source[:cut].count(b"\n") + 1
    return Variant("truncated", source[:cut].decode("utf-8"), True if depth_at(brackets, cut) > 0 else None,
                   f"cut at byte {cut} (line {line})")


def variants(text: str, root, rng: random.Random) -> list[Variant]:
    """The unmodified file and its three broken copies (a breakage that cannot apply is left out)."""
    source = text.encode("utf-8")
    brackets = bracket_tokens(root)
    out = [Variant("control", text, False, "unmodified"), delete_line(text, rng), drop_bracket(source, brackets, rng),
           truncate(source, brackets, rng)]
    return [v for v in out if v is not None]
