"""Where reports go and how they are written: whole files or nothing.

Reports live in ``INVIVO_REPORTS_DIR``, else in ``reports/`` beside the DuckDB file (the demo's
``data/demo/invivo.duckdb`` gives ``data/demo/reports/``), so a warehouse and its reports travel
together. Every file is written to a temporary name in the same directory and renamed over the old
one: a reader (a browser left open, a file share) sees the old report or the new one, never half.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

REPORTS_DIR_ENV = "INVIVO_REPORTS_DIR"


def reports_dir(db_path: Path, env: Mapping[str, str] = os.environ) -> Path:
    configured = env.get(REPORTS_DIR_ENV)
    if configured:
        return Path(configured).expanduser().absolute()
    return db_path.expanduser().absolute().parent / "reports"


SLUG_MAX = 80
"""Characters of a file name's stem at most: a page's name gets the study id appended at times,
and a PNG's its plot kind, well within the 255 bytes a file name may have."""


def slug(text: str) -> str:
    """A file-name-safe form of a study code: "ONC-26-001" stays, "a/b c" becomes "a-b-c"; a
    longer one is cut and keeps a hash of the whole, so two long codes stay apart."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    if len(cleaned) > SLUG_MAX:
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        cleaned = f"{cleaned[: SLUG_MAX - 13].rstrip('-.')}-{digest}"
    return cleaned or "study"


def write_atomic(path: Path, content: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def png_path(png_dir: Path, stem: str, kind: str) -> Path:
    """Where a study's figure of one kind is kept: ``<stem>-<kind>.png``, ``stem`` being the
    study's page name without ``.html`` (its code as ``slug`` makes it, with its id when two
    studies share one code: ``build._FileNames``)."""
    return png_dir / f"{stem}-{kind}.png"
