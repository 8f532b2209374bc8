"""Combination detection from groups' treatments, and Bliss / HSA synergy on constructed growth
rates checked against the least-squares lines worked through by hand."""

from __future__ import annotations

import math

import pandas as pd
from pytest import approx

from invivo_pipeline.statistics.synergy import (
    Combination,
    combination_synergy_frame,
    detect_combinations,
)
from invivo_pipeline_tests.support.statistics import balanced_study, least_squares

ORDER = ["veh", "a", "a_hi", "b", "ab", "other"]


def test_a_combination_is_two_single_agents_of_the_same_study():
    treatments = {
        "veh": frozenset({"t_vehicle"}),
        "a": frozenset({"t_a", "t_vehicle"}),  # the vehicle as well: still A alone
        "a_hi": frozenset({"t_a_hi"}),
        "b": frozenset({"t_b"}),
        "ab": frozenset({"t_a", "t_b"}),
        "other": frozenset({"t_a_hi", "t_c"}),  # C never given alone: no combination
    }
    assert detect_combinations(treatments, "veh", ORDER) == [Combination("veh", "a", "b", "ab")]


def test_a_dose_response_study_has_no_combination():
    treatments = {g: frozenset({f"t_{g}"}) for g in ("veh", "d1", "d2", "d3")}
    assert detect_combinations(treatments, "veh", ["veh", "d1", "d2", "d3"]) == []


def synergy(rates: dict[str, float], eval_day: float = 14.0, noise: float = 0.02) -> pd.DataFrame:
    data = balanced_study(rates, noise=noise, seed=9)
    links = pd.DataFrame(
        [
            ("s", "veh", "t_vehicle"),
            ("s", "a", "t_a"),
            ("s", "b", "t_b"),
            ("s", "ab", "t_a"),
            ("s", "ab", "t_b"),
        ],
        columns=["study_id", "group_id", "treatment_id"],
    )
    groups = pd.DataFrame({"study_id": "s", "group_id": list(rates), "group_no": [1, 2, 3, 4]})
    frame = combination_synergy_frame(data, links, groups, {"s": "veh"}, {"s": eval_day}, 1.96, 1.0)
    return frame, least_squares(data, list(rates))


def test_bliss_and_hsa_on_constructed_rates():
    # Bliss expects 0.07 + 0.06 − 0.10 = 0.03 per day for A + B; HSA expects B's 0.06.
    frame, lines = synergy({"veh": 0.10, "a": 0.07, "b": 0.06, "ab": 0.0})
    b = {g: slope for g, (_, slope) in lines.items()}
    rows = frame.set_index("reference")
    assert list(frame["combination_group_id"]) == ["ab", "ab"]
    bliss, hsa = rows.loc["bliss"], rows.loc["hsa"]
    bliss_excess = b["a"] + b["b"] - b["veh"] - b["ab"]
    hsa_excess = min(b["a"], b["b"]) - b["ab"]
    assert bliss["expected_growth_rate"] == approx(b["a"] + b["b"] - b["veh"], abs=1e-9)
    assert bliss["rate_excess"] == approx(bliss_excess, abs=1e-9)
    assert hsa["rate_excess"] == approx(hsa_excess, abs=1e-9)
    assert bliss_excess == approx(0.03, abs=0.01) and hsa_excess == approx(0.06, abs=0.01)
    for row, excess in ((bliss, bliss_excess), (hsa, hsa_excess)):
        index = math.exp(-excess * 14)
        assert row["combination_index"] == approx(index, rel=1e-7)
        assert row["synergy_score"] == approx(100 * (1 - index), rel=1e-7)
        assert row["combination_index_ci_lo"] < index < row["combination_index_ci_hi"]
        assert row["synergy_score_ci_lo"] < row["synergy_score"] < row["synergy_score_ci_hi"]
        assert row["interpretation"] == "synergy" and row["p_value"] < 0.001
        assert row["status"] == "ok"


def test_an_additive_combination_and_an_antagonistic_one():
    additive, _ = synergy({"veh": 0.10, "a": 0.07, "b": 0.06, "ab": 0.03})
    bliss = additive.set_index("reference").loc["bliss"]
    assert bliss["rate_excess_ci_lo"] < 0 < bliss["rate_excess_ci_hi"]
    assert bliss["interpretation"] == "additive"
    antagonism, _ = synergy({"veh": 0.10, "a": 0.07, "b": 0.06, "ab": 0.09})
    assert set(antagonism["interpretation"]) == {"antagonism"}
    assert (antagonism["combination_index"] > 1).all()


def test_a_combination_without_data_is_a_status_row():
    frame, _ = synergy({"veh": 0.10, "a": 0.07, "b": 0.06, "ab": 0.03})
    data = balanced_study({"veh": 0.1, "a": 0.07, "b": 0.06}, seed=9)
    links = pd.DataFrame(
        [("s", "veh", "v"), ("s", "a", "t_a"), ("s", "b", "t_b"), ("s", "ab", "t_a"),
         ("s", "ab", "t_b")],
        columns=["study_id", "group_id", "treatment_id"],
    )  # fmt: skip
    groups = pd.DataFrame(
        {"study_id": "s", "group_id": ["veh", "a", "b", "ab"], "group_no": [1, 2, 3, 4]}
    )
    rows = combination_synergy_frame(data, links, groups, {"s": "veh"}, {"s": 14.0}, 1.96, 1.0)
    assert list(rows["status"]) == ["failed", "failed"]
    assert rows["rate_excess"].isna().all()
    assert list(rows.columns) == list(frame.columns)
