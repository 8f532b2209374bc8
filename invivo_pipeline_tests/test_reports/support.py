"""Shared reading of the materialized warehouse for the report tests."""

from __future__ import annotations

import struct

from invivo_pipeline.reports.data import StudyData

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from the PNG's IHDR chunk."""
    assert png[:8] == PNG_MAGIC, "not a PNG"
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def by_kind(studies: list[StudyData]) -> dict[str, StudyData]:
    """The simulated world's studies by what they are: oncology with data, tox, draft."""
    kinds: dict[str, StudyData] = {}
    for study in studies:
        if study.overview["status"] == "draft":
            kinds["draft"] = study
        elif study.code.startswith("TOX"):
            kinds["tox"] = study
        elif study.overview["status"] == "completed":
            kinds["oncology"] = study
    assert set(kinds) == {"draft", "tox", "oncology"}, [s.code for s in studies]
    return kinds
