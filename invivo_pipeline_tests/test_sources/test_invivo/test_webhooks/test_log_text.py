"""Sender text in a log line: plain ids as they are, anything else one escaped, bounded line."""

from __future__ import annotations

import pytest

from invivo_pipeline.sources.invivo.webhooks.log_text import loggable


@pytest.mark.parametrize("plain", ["whe_01HX", "animal.measurement.created", "sdy-1:a"])
def test_plain_ids_and_types_are_shown_as_they_are(plain):
    assert loggable(plain) == plain


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("whe_1\n2026-12-04 INFO forged", "'whe_1\\n2026-12-04 INFO forged'"),
        ("whe_\x1b[31mred\x1b[0m", "'whe_\\x1b[31mred\\x1b[0m'"),
        ("whe_\x00nul", "'whe_\\x00nul'"),
        ("a\u202eb", "'a\\u202eb'"),
        ("two words", "'two words'"),
        ("", "''"),
    ],
)
def test_anything_else_is_a_quoted_literal_with_controls_escaped(text, shown):
    assert loggable(text) == shown
    assert loggable(text).isprintable()


def test_long_text_is_cut_and_says_how_much_was_left_out():
    shown = loggable("a." * 5000, limit=20)

    assert shown == repr("a." * 10) + "…(+9980 chars)"
