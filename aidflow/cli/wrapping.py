"""Text in lines of display columns, for help outside English: a Chinese character takes
two columns, a word of letters is never split, a closing mark never starts a line.

Imported by :mod:`aidflow.cli.helptext` when it lays out a help in Chinese; an English
``--help`` is click's own layout and never imports it (nor compiles :data:`_PIECES`).
"""

from __future__ import annotations

import re

_NO_LINE_START = frozenset("，。、；：！？）」』》〉”’…")
_NO_LINE_END = tuple("([（“‘《「『")
_PIECES = re.compile(r"\s+|\[[^\[\]\s]{1,12}\]|[\u1100-\uffff]|[^\s\u1100-\uffff]+")
"""What a line may break between: spaces, a short tag like ``[必填]`` whole, a Chinese
character, a run of other characters (a word, an option, a path)."""


def columns(text: str) -> int:
    from aidflow.render import width

    return width(text)


def wrap(text: str, room: int, indent: str = "", first: str | None = None) -> list[str]:
    """``text`` in lines of at most ``room`` display columns, each after ``indent`` (the
    first after ``first`` if given): a word of letters is never split, a Chinese character
    may end a line, a closing mark never starts one."""
    lines: list[str] = []
    line = indent if first is None else first
    used = columns(line)
    for piece in _PIECES.findall(text):
        if piece.isspace():
            if line.strip():
                line, used = line + " ", used + 1
            continue
        size = columns(piece)
        split = _split(line, piece) if used + size > room and line.strip() else None
        if split is not None:
            lines.append(split[0].rstrip())
            line = indent + split[1]
            used = columns(line)
        line, used = line + piece, used + size
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _split(line: str, piece: str) -> tuple[str, str] | None:
    """Where a full ``line`` ends before ``piece``: (what stays, what goes on to the next
    line), None when it cannot end there. A closing mark never starts a line and an opening
    one never ends it: the closing marks, with the Chinese character they close, and the
    opening marks before the break go on with them."""
    cut = len(line)
    if piece in _NO_LINE_START:
        while cut and line[cut - 1] in _NO_LINE_START:
            cut -= 1
        if not cut or columns(line[cut - 1]) != 2 or line[cut - 1] in _NO_LINE_END:
            return None  # after a word of letters: the line runs over rather than split it
        cut -= 1
    while cut and line[cut - 1] in _NO_LINE_END:
        cut -= 1
    kept = line[:cut]
    return (kept, line[cut:]) if kept.strip() else None


def shorten(text: str, room: int) -> str:
    """``text`` cut to ``room`` display columns, ending in ``…`` when cut."""
    if columns(text) <= room:
        return text
    kept = text
    while kept and columns(kept) + 1 > room:
        kept = kept[:-1]
    return kept.rstrip() + "…"


__all__ = ["columns", "shorten", "wrap"]
