"""Files an earlier reports run left that the current one no longer stands behind, removed.

A study the API no longer lists leaves the marts (dbt deletes its rows) and so the index, but its
page and figures would stay in the reports folder, readable by anyone who kept the link, long
after the study was withdrawn. A study whose code changed gets its page and figures under the new
name, and a figure whose data is gone is not drawn: the old files are as stale. So each run
records the files it leaves for each study (in the state file beside the pages), and removes the
recorded files that it replaced.

Only recorded files are ever removed: a reports folder may hold other files (a team's notes,
another tool's pages), and those are not touched. A run removes only what it stands in for: the
pages when it writes pages (and so the index), a kind's figures when it draws that kind into a PNG
folder; the records of the rest are carried to the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StudyFiles:
    """The files one study has in the reports folder."""

    page: str | None = None
    """The page's file name in the reports folder."""
    pngs: Mapping[str, str] = field(default_factory=dict)
    """Plot kind → the figure's file name in the PNG folder."""

    def as_json(self) -> dict[str, Any]:
        return {"page": self.page, "pngs": dict(sorted(self.pngs.items()))}


@dataclass(frozen=True)
class RunScope:
    """What a run rewrote, and so what it may find stale."""

    pages: bool
    """It wrote every current study's page and the index."""
    kinds: Collection[str]
    """The plot kinds it drew."""
    png_dir: Path | None
    """Where it kept the figures (None: it kept none, and can remove none)."""

    def replaces_pngs_of(self, kind: str) -> bool:
        return self.png_dir is not None and kind in self.kinds


def files_from_state(stored: Mapping[str, Any]) -> dict[str, StudyFiles]:
    """The files recorded in a state file (any settings: a run with other settings still has to
    clear what this one left). A state written before files were recorded names each study's
    page only; an entry that is not a plain file name (a hand-edited state) is ignored."""
    files: dict[str, StudyFiles] = {}
    recorded = stored.get("files")
    if isinstance(recorded, dict):
        for study_id, entry in recorded.items():
            if not isinstance(entry, dict):
                continue
            pngs = entry.get("pngs")
            files[str(study_id)] = StudyFiles(
                _plain(entry.get("page"), ".html"),
                {
                    str(kind): name
                    for kind, value in (pngs.items() if isinstance(pngs, dict) else ())
                    if (name := _plain(value, ".png")) is not None
                },
            )
        return files
    studies = stored.get("studies")
    for study_id, entry in studies.items() if isinstance(studies, dict) else ():
        page = _plain(entry.get("page"), ".html") if isinstance(entry, dict) else None
        if page is not None:
            files[str(study_id)] = StudyFiles(page)
    return files


def _plain(name: object, suffix: str) -> str | None:
    """``name`` when it is a file name of that kind directly in its folder, else None."""
    if not isinstance(name, str) or not name.endswith(suffix):
        return None
    return name if Path(name).name == name else None


def remove_stale(
    previous: Mapping[str, StudyFiles],
    current: Mapping[str, StudyFiles],
    scope: RunScope,
    out_dir: Path,
) -> tuple[dict[str, StudyFiles], list[Path]]:
    """Remove the files ``previous`` recorded that this run replaced; what to record for the
    next run, and the paths removed.

    ``current`` has an entry for every study in the warehouse now (with the files this run left
    for it); a study in ``previous`` only is gone. A file this run left for any study is never
    removed, whichever study recorded it before (a new study may take a gone one's code).
    """
    live = {f.page for f in current.values() if f.page} | {
        name for f in current.values() for name in f.pngs.values()
    }
    removed: list[Path] = []

    def remove(path: Path) -> None:
        if path.name in live:
            return
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:  # logged and forgotten: a reports run does not fail on it
            log.warning("could not remove the stale report file %s: %s", path, exc)
            return
        removed.append(path)

    record: dict[str, StudyFiles] = {}
    for study_id in sorted(set(previous) | set(current)):
        before, now = previous.get(study_id, StudyFiles()), current.get(study_id)
        page = before.page
        if scope.pages:
            page = now.page if now is not None else None
            if before.page is not None and before.page != page:
                remove(out_dir / before.page)
        pngs = dict(now.pngs) if now is not None else {}
        for kind, name in before.pngs.items():
            if not scope.replaces_pngs_of(kind):
                pngs.setdefault(kind, name)
            elif name != pngs.get(kind) and scope.png_dir is not None:
                remove(scope.png_dir / name)
        if now is not None or page is not None or pngs:
            record[study_id] = StudyFiles(page, pngs)
    return record, removed
