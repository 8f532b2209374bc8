"""The dbt Python model ``int_survival_vs_control`` on hand-made arms: the Cox hazard ratio where it
has an estimate, the Firth-penalised one where the Cox fit diverges (complete separation, which a
200-study tenant produced and which used to crash the whole dbt build with an OverflowError)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

MODEL = (
    Path(__file__).resolve().parents[2]
    / "dbt_project/models/intermediate/survival/int_survival_vs_control.py"
)
_spec = importlib.util.spec_from_file_location("int_survival_vs_control", MODEL)
survival = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(survival)


def arms(treated: list[tuple[float, int]], control: list[tuple[float, int]]):
    rows = [
        {"study_id": "s", "group_id": group, "endpoint_type": "overall", "time_days": t, "event": e}
        for group, animals in (("treated", treated), ("control", control))
        for t, e in animals
    ]
    groups = pd.DataFrame(
        {"study_id": ["s", "s"], "group_id": ["control", "treated"], "is_control": [True, False]}
    )
    return survival.compare(pd.DataFrame(rows), groups, {"s": "control"}, 1.96).iloc[0]


def test_a_treated_arm_that_lives_longer_has_a_hazard_ratio_below_one():
    row = arms(
        treated=[(8, 1), (12, 1), (15, 0), (20, 0), (20, 0)],
        control=[(3, 1), (5, 1), (9, 1), (11, 1), (20, 0)],
    )
    assert 0 < row["hr"] < 1
    assert row["hr_ci_lo"] < row["hr"] < row["hr_ci_hi"]
    assert 0 < row["logrank_p"] < 1
    assert row["hr_method"] == "cox"


def test_complete_separation_gives_the_firth_ratio_instead_of_failing_the_build():
    # Every control death comes while no treated animal has died; the one treated death comes
    # after the last control animal is gone: the partial likelihood rises for ever as β → -∞.
    row = arms(
        treated=[(10, 1), (20, 0), (20, 0), (20, 0), (20, 0)],
        control=[(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)],
    )
    assert row["hr_method"] == "firth"
    assert 0 < row["hr_ci_lo"] < row["hr"] < row["hr_ci_hi"] < 1
    assert row["logrank_p"] < 0.05, "the log-rank test still answers"
