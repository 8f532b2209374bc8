"""``dagster dev`` from the repository root loads the code location through workspace.yaml."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_workspace_validates_as_dagster_dev_loads_it(tmp_path):
    dagster = shutil.which("dagster")
    assert dagster, "dagster is a dependency: pip install -e ."
    result = subprocess.run(
        [dagster, "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={
            "PATH": str(Path(dagster).parent),
            "DAGSTER_HOME": str(tmp_path),
            "HOME": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All code locations passed validation" in result.stdout + result.stderr
