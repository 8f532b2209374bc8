"""Limits an answer must respect before any JSON parser sees it: UTF-8, and a bounded nesting depth.

msgspec and pydantic recurse once per nesting level, so a page nested 100,000 levels deep ends in
``RecursionError`` (not an error anyone can act on), and a byte that is not UTF-8 surfaces wherever a
string happens to be decoded, far from the request that brought it. Both are checked here on the
bytes, in C-speed passes (``bytes.translate``/``replace``), so the parsers only ever see answers
they can read. docs/performance.md has what the check costs per megabyte.
"""

from __future__ import annotations

import re

_BRACKETS_AND_QUOTES = b'[]{}"'
_ALL_OTHER_BYTES = bytes(range(256)).translate(None, _BRACKETS_AND_QUOTES)
_STRING = re.compile(rb'"[^"]*"')
_OPENERS = re.compile(rb"\[*")
_BRACES_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")


def check_json_limits(content: bytes, max_depth: int) -> str | None:
    """Why ``content`` must not be parsed (not UTF-8, nested deeper than ``max_depth``), or None."""
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"byte {exc.start} is not UTF-8 (0x{content[exc.start]:02x})"
    depth = nesting_depth(content, max_depth)
    if depth is None:
        return f"JSON nested deeper than {max_depth} levels (max_json_depth)"
    return None


def nesting_depth(content: bytes, limit: int) -> int | None:
    """How deeply arrays and objects nest in ``content`` (JSON), or None beyond ``limit``.

    Strings are removed first (escapes, then everything but brackets and quotes, then the quoted
    runs), leaving only the structure's brackets; each pass then removes the innermost pairs, so
    the number of passes is the depth and the work stops at ``limit``. Braces count as brackets:
    the depth is the same, and a mismatch is the parser's to report. Text that is not JSON (the
    brackets do not pair up) is left to the parser to reject, with the depth it would reach first.
    """
    structure = content
    if b"\\" in structure:
        # Escaped backslashes first, then escaped quotes: left to right, as a parser reads them.
        structure = structure.replace(b"\\\\", b"").replace(b'\\"', b"")
    # Quotes alternate open/close, so removing two adjacent ones keeps every bracket on its side.
    structure = structure.translate(None, _ALL_OTHER_BYTES).replace(b'""', b"")
    if b'"' in structure:
        structure = _STRING.sub(b"", structure)
    # One kind of pair, so that each pass removes exactly one level.
    structure = structure.translate(_BRACES_AS_BRACKETS)
    for passes in range(limit + 1):
        if not structure:
            return passes
        inner = structure.replace(b"[]", b"")
        if inner == structure:
            # Not JSON; a parser would still go as deep as the openers before the first closer.
            reached = passes + len(_OPENERS.match(structure).group())  # type: ignore[union-attr]
            return reached if reached <= limit else None
        structure = inner
    return None
