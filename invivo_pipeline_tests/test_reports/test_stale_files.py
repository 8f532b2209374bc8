"""What a reports run removes of what an earlier one left: only recorded files, only those it
replaced, never a file outside the reports folders (the state file may have been edited)."""

from __future__ import annotations

import json
from pathlib import Path

from invivo_pipeline.reports.fingerprints import STATE_FILE, load_state
from invivo_pipeline.reports.stale_files import (
    RunScope,
    StudyFiles,
    files_from_state,
    remove_stale,
)

EVERY_KIND = RunScope(pages=True, kinds=("spider", "survival"), png_dir=None)


def _folders(tmp_path: Path) -> tuple[Path, Path]:
    out, png = tmp_path / "reports", tmp_path / "reports" / "png"
    png.mkdir(parents=True)
    return out, png


def test_a_state_names_only_plain_files_in_their_folder(tmp_path):
    out, _ = _folders(tmp_path)
    outside = tmp_path / "outside.html"
    outside.write_text("keep")
    stored = {
        "files": {
            "s1": {"page": "../outside.html", "pngs": {"spider": "/etc/hosts.png"}},
            "s2": {"page": "S2.html", "pngs": {"spider": "s2-spider.png", "x": "s2.txt"}},
            "s3": "not an entry",
        }
    }
    files = files_from_state(stored)
    assert files == {
        "s1": StudyFiles(None, {}),
        "s2": StudyFiles("S2.html", {"spider": "s2-spider.png"}),
    }
    record, removed = remove_stale(files, {}, EVERY_KIND, out)
    assert outside.read_text() == "keep" and removed == [out / "S2.html"]
    assert record == {"s2": StudyFiles(None, {"spider": "s2-spider.png"})}, (
        "with no PNG folder this run, the gone study's figure stays recorded for a later run"
    )


def test_a_state_from_before_files_were_recorded_still_names_the_pages(tmp_path):
    out, _ = _folders(tmp_path)
    (out / "OLD.html").write_text("a withdrawn study")
    (out / STATE_FILE).write_text(
        json.dumps(
            {
                "version": 1,
                "settings": "other",
                "studies": {"s1": {"fingerprint": "f", "page": "OLD.html", "figures": []}},
            }
        )
    )
    state = load_state(out, "these")
    assert state.studies == {}, "other settings: every study is drawn again"
    assert state.files == {"s1": StudyFiles("OLD.html")}
    _, removed = remove_stale(state.files, {}, EVERY_KIND, out)
    assert removed == [out / "OLD.html"] and not (out / "OLD.html").exists()


def test_a_name_a_current_study_uses_is_kept_whoever_recorded_it(tmp_path):
    out, png = _folders(tmp_path)
    for path in (out / "ONC.html", png / "onc-spider.png"):
        path.write_text("now the new study's")
    previous = {"gone": StudyFiles("ONC.html", {"spider": "onc-spider.png"})}
    current = {"new": StudyFiles("ONC.html", {"spider": "onc-spider.png"})}
    record, removed = remove_stale(previous, current, RunScope(True, ("spider",), png), out)
    assert removed == [] and record == current
    assert (out / "ONC.html").is_file() and (png / "onc-spider.png").is_file()


def test_a_file_that_cannot_be_removed_does_not_fail_the_run(tmp_path, caplog):
    out, _ = _folders(tmp_path)
    (out / "STUCK.html").mkdir()  # unlink fails on a directory
    record, removed = remove_stale({"s1": StudyFiles("STUCK.html")}, {}, EVERY_KIND, out)
    assert record == {} and removed == []
    assert "could not remove the stale report file" in caplog.text
