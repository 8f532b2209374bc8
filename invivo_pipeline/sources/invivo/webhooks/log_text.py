"""Sender-controlled text (event ids, event types) as it may appear in a log line.

An id with a newline would forge a second log line; ANSI escapes would repaint the operator's
terminal; a NUL cuts some log viewers short; 10,000 characters drown the line. ``loggable`` shows
text made only of plain id characters as it is (``whe_01HX``, ``animal.measurement.created``), so
ordinary lines stay readable, and anything else as a Python string literal (``'a\\nb'``), every
control or invisible character escaped, cut to ``limit`` characters. Either way the result is one
line and cannot be mistaken for the pipeline's own words.
"""

from __future__ import annotations

import re

LOG_TEXT_LIMIT = 80
_PLAIN = re.compile(r"[A-Za-z0-9_.:\-]+")


def loggable(value: object, limit: int = LOG_TEXT_LIMIT) -> str:
    text = str(value)
    if len(text) <= limit and _PLAIN.fullmatch(text):
        return text
    cut = text[:limit]
    # repr escapes every character str.isprintable() rejects: controls, ESC, NUL, bidi marks.
    shown = repr(cut)
    return shown + (f"…(+{len(text) - limit} chars)" if len(text) > limit else "")
