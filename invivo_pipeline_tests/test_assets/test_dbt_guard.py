"""The dbt child dies with the pipeline process that started it (``invivo_pipeline/assets/dbt_guard.py``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from invivo_pipeline_tests.support.processes import gone_within

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG")


def _orphan(guarded: bool) -> int:
    """Start a parent that starts a sleeping child (guarded or not), SIGKILL the parent; the
    child's pid."""
    child_code = textwrap.dedent(
        f"""
        import os, sys, time
        from invivo_pipeline.assets.dbt_guard import die_with_parent
        if {guarded!r}:
            assert die_with_parent(os.getppid())
        print(os.getpid(), flush=True)
        time.sleep(60)
        """
    )
    parent_code = textwrap.dedent(
        f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", {child_code!r}], stdout=subprocess.PIPE,
                                 text=True)
        print(child.stdout.readline().strip(), flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True
    )
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    return child


def test_a_guarded_child_dies_with_its_parent_and_an_unguarded_one_does_not():
    guarded = _orphan(guarded=True)
    assert gone_within(guarded, 5)
    unguarded = _orphan(guarded=False)
    try:
        assert not gone_within(unguarded, 1), "the control child should outlive its parent"
    finally:
        os.kill(unguarded, signal.SIGKILL)
