"""Debian's Chromium driven by Playwright, the way the project's setup installs it: no browser is
downloaded, ``/usr/bin/chromium`` is launched with the flags a closed-network, GPU-less machine
needs, and screenshots land where CI keeps test artifacts."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# Headless comes from Playwright; these keep Chromium from phoning home (refused here, and slow
# when every start retries), from needing a GPU or a sandbox (CI runs as root in a container).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The UI's "Join the Dagster community" dialog opens on localhost over whatever a user looks at;
# a user dismisses it once and the browser remembers it under this key.
DISMISS_COMMUNITY_DIALOG = "window.localStorage.setItem('communityNux', '1')"
ROOT = Path(__file__).resolve().parents[2]


def artifacts_dir() -> Path:
    """``test-artifacts/browser`` at the repository root, or under ``$INVIVO_TEST_ARTIFACTS``."""
    base = Path(os.environ.get("INVIVO_TEST_ARTIFACTS") or ROOT / "test-artifacts")
    folder = base / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
