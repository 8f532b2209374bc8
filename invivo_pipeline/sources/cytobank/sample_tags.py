"""The sample-tag TSV download → one record per (FCS file, dimension).

Format [E]: tab-separated, one header row, first column ``FCS Filename``, one column per tag
dimension, ``-`` for an empty cell (null here). Long format, so that a new dimension in Cytobank is
new rows, not a schema migration.
"""

from __future__ import annotations

import csv
import io
from typing import Any

FILENAME_COLUMN = "FCS Filename"
EMPTY = "-"


class SampleTagFormatError(ValueError):
    pass


def parse_sample_tags(content: bytes) -> list[dict[str, Any]]:
    text = content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        return []
    header = [h.strip() for h in rows[0]]
    if not header or header[0] != FILENAME_COLUMN:
        raise SampleTagFormatError(
            f"the sample-tag file's first column is {header[0] if header else ''!r}, "
            f"not {FILENAME_COLUMN!r}"
        )
    records: list[dict[str, Any]] = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise SampleTagFormatError(
                f"sample-tag line {number} has {len(row)} cells, the header {len(header)}"
            )
        filename = row[0].strip()
        for dimension, cell in zip(header[1:], row[1:], strict=True):
            value = cell.strip()
            records.append(
                {
                    "fcsFilename": filename,
                    "dimension": dimension,
                    "value": None if value in ("", EMPTY) else value,
                }
            )
    return records
