"""Synergy of a two-drug combination from the study's growth model (the SynergyLMM approach).

A combination study has a control, agent A alone, agent B alone and A + B (detected from the
groups' treatments). On the log scale each group's tumours grow at rate b (growth_model), so
relative volumes multiply: under Bliss independence the combination's expected rate is
b_A + b_B − b_C (its volume relative to control is the product of the single agents'); under
highest single agent (HSA) it is the rate of the more effective single agent, min(b_A, b_B) by
the estimates. Per reference model:

- rate excess Δ = expected rate − b_AB (per day; > 0 is synergy), a linear contrast of the fixed
  effects with its Wald interval and two-sided p-value;
- combination index at the evaluation day t, CI = exp(−Δ·t): observed over expected relative
  volume (< 1 synergy, > 1 antagonism);
- synergy score 100·(1 − CI): how much smaller, in %, the combination's tumours are than the
  reference predicts. Both intervals are the rate interval transformed (monotone, exact).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from scipy import stats

from invivo_pipeline.statistics.growth_model import (
    GrowthFit,
    GrowthModelError,
    fit_growth,
)

REFERENCES = ("bliss", "hsa")

COLUMNS: dict[str, str] = {
    "study_id": "object",
    "combination_group_id": "object",
    "agent_a_group_id": "object",
    "agent_b_group_id": "object",
    "control_group_id": "object",
    "reference": "object",
    "eval_day": "float64",
    "expected_growth_rate": "float64",
    "observed_growth_rate": "float64",
    "rate_excess": "float64",
    "rate_excess_se": "float64",
    "rate_excess_ci_lo": "float64",
    "rate_excess_ci_hi": "float64",
    "p_value": "float64",
    "combination_index": "float64",
    "combination_index_ci_lo": "float64",
    "combination_index_ci_hi": "float64",
    "synergy_score": "float64",
    "synergy_score_ci_lo": "float64",
    "synergy_score_ci_hi": "float64",
    "interpretation": "object",
    "status": "object",
    "status_detail": "object",
}


@dataclass(frozen=True)
class Combination:
    control: str
    agent_a: str
    agent_b: str
    combination: str


def detect_combinations(
    treatments: Mapping[str, frozenset[str]], control: str, order: list[str]
) -> list[Combination]:
    """Combinations among a study's groups, from each group's treatments.

    ``treatments``: group → its treatment ids; ``order``: the groups in group-number order. The
    control's own treatments (vehicle) are ignored in every group. A group with exactly two
    treatments, each of which is the only treatment of some other group, is a combination of
    those two groups (the first such group of each agent, in ``order``).
    """
    vehicle = treatments.get(control, frozenset())
    active = {g: treatments.get(g, frozenset()) - vehicle for g in order if g != control}
    alone: dict[str, str] = {}
    for group, items in active.items():
        if len(items) == 1:
            alone.setdefault(next(iter(items)), group)
    found = []
    for group, items in active.items():
        if len(items) != 2:
            continue
        a, b = sorted(items, key=lambda t: order.index(alone[t]) if t in alone else len(order))
        if a in alone and b in alone:
            found.append(Combination(control, alone[a], alone[b], group))
    return found


def synergy_rows(
    fit: GrowthFit, combination: Combination, eval_day: float | None, z: float
) -> list[dict]:
    """One row per reference model (Bliss, HSA) for ``combination`` in ``fit``."""
    slope = {
        name: fit.slope_index(getattr(combination, name))
        for name in ("control", "agent_a", "agent_b", "combination")
    }
    b = {name: float(fit.params[k]) for name, k in slope.items()}
    best = "agent_a" if b["agent_a"] <= b["agent_b"] else "agent_b"
    weights = {
        "bliss": {slope["agent_a"]: 1.0, slope["agent_b"]: 1.0, slope["control"]: -1.0},
        "hsa": {slope[best]: 1.0},
    }
    rows = []
    for reference in REFERENCES:
        expected, _ = fit.contrast(weights[reference])
        contrast = dict(weights[reference])
        contrast[slope["combination"]] = contrast.get(slope["combination"], 0.0) - 1.0
        excess, se = fit.contrast(contrast)
        lo, hi = excess - z * se, excess + z * se
        row = _base_row(combination, reference, eval_day)
        row.update(
            expected_growth_rate=expected,
            observed_growth_rate=b["combination"],
            rate_excess=excess,
            rate_excess_se=se,
            rate_excess_ci_lo=lo,
            rate_excess_ci_hi=hi,
            p_value=float(2 * stats.norm.sf(abs(excess / se))) if se > 0 else None,
            interpretation="synergy" if lo > 0 else "antagonism" if hi < 0 else "additive",
            status="ok",
        )
        if eval_day is not None and not math.isnan(eval_day):
            index, index_lo, index_hi = (math.exp(-x * eval_day) for x in (excess, hi, lo))
            row.update(
                combination_index=index,
                combination_index_ci_lo=index_lo,
                combination_index_ci_hi=index_hi,
                synergy_score=100 * (1 - index),
                synergy_score_ci_lo=100 * (1 - index_hi),
                synergy_score_ci_hi=100 * (1 - index_lo),
            )
        rows.append(row)
    return rows


def _base_row(combination: Combination, reference: str, eval_day: float | None) -> dict:
    row: dict = dict.fromkeys(COLUMNS)
    row.update(
        combination_group_id=combination.combination,
        agent_a_group_id=combination.agent_a,
        agent_b_group_id=combination.agent_b,
        control_group_id=combination.control,
        reference=reference,
        eval_day=eval_day,
    )
    return row


def combination_synergy_frame(
    observations: pd.DataFrame,
    group_treatments: pd.DataFrame,
    groups: pd.DataFrame,
    controls: dict[str, str],
    eval_days: dict[str, float],
    z: float,
    shift: float,
) -> pd.DataFrame:
    """``rpt_combination_synergy``: every combination of every study with a control.

    ``group_treatments``: study_id, group_id, treatment_id; ``groups``: study_id, group_id,
    group_no; ``observations`` as for ``growth_model.growth_model_frame``. Only the four groups
    of a combination enter its model. A failed fit is a status row per reference model.
    """
    rows: list[dict] = []
    ordered = groups.sort_values(["study_id", "group_no", "group_id"])
    by_study = dict(tuple(observations.groupby("study_id", sort=True)))
    for study_id, links in group_treatments.groupby("study_id", sort=True):
        control = controls.get(study_id)
        if control is None:
            continue
        treatments = {
            g: frozenset(t["treatment_id"]) for g, t in links.groupby("group_id", sort=False)
        }
        order = ordered.loc[ordered["study_id"] == study_id, "group_id"].tolist()
        frame = by_study.get(study_id, observations.iloc[0:0])
        for combination in detect_combinations(treatments, control, order):
            groups_in = (
                combination.control,
                combination.agent_a,
                combination.agent_b,
                combination.combination,
            )
            eval_day = eval_days.get(study_id)
            try:
                fit = fit_growth(frame, groups_in, shift)
            except GrowthModelError as error:
                for reference in REFERENCES:
                    row = _base_row(combination, reference, eval_day)
                    row.update(status="failed", status_detail=str(error))
                    rows.append({**row, "study_id": study_id})
                continue
            rows.extend(
                {**row, "study_id": study_id} for row in synergy_rows(fit, combination, eval_day, z)
            )
    result = pd.DataFrame(rows, columns=list(COLUMNS))
    return result.astype({k: v for k, v in COLUMNS.items() if v != "object"})


__all__ = [
    "COLUMNS",
    "REFERENCES",
    "Combination",
    "combination_synergy_frame",
    "detect_combinations",
    "synergy_rows",
]
