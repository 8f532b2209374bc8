"""The Firth-penalised Cox fit against a direct optimisation of the penalised likelihood done
differently (``penalised_cox``), on arms where the standard Cox fit has no estimate and on one
where it has."""

from __future__ import annotations

import math

import numpy as np
from pytest import approx

from invivo_pipeline.statistics.firth_cox import firth_hazard_ratio
from invivo_pipeline_tests.support.penalised_cox import firth_by_direct_optimisation


def risk_table(treated: list[tuple[float, int]], control: list[tuple[float, int]]):
    """(n, d, n1, d1) at each distinct event time, counted by hand-readable loops."""
    animals = [(t, e, True) for t, e in treated] + [(t, e, False) for t, e in control]
    rows = []
    for time in sorted({t for t, e, _ in animals if e}):
        at_risk = [a for a in animals if a[0] >= time]
        dying = [a for a in at_risk if a[0] == time and a[1]]
        rows.append(
            (len(at_risk), len(dying), sum(a[2] for a in at_risk), sum(a[2] for a in dying))
        )
    return rows


def fit(table):
    n, d, n1, d1 = (np.array(column, dtype=float) for column in zip(*table, strict=True))
    return firth_hazard_ratio(n, d, n1, d1, 1.96)


def test_a_treated_arm_without_events_gets_a_finite_ratio_and_interval():
    # Every control animal dies by day 9; no treated animal does: the Cox β runs off to -∞.
    table = risk_table(
        treated=[(20, 0)] * 5,
        control=[(3, 1), (5, 1), (9, 1), (9, 1), (20, 0)],
    )
    estimate = fit(table)
    hr, lo, hi = firth_by_direct_optimisation(table)
    assert estimate.hr == approx(hr, rel=1e-6)
    assert estimate.ci_lo == approx(lo, rel=1e-4)
    assert estimate.ci_hi == approx(hi, rel=1e-4)
    assert estimate.ci_lo < estimate.hr < estimate.ci_hi < 1


def test_complete_separation_and_an_ordinary_fit_match_the_direct_optimisation():
    separated = risk_table(
        treated=[(10, 1), (20, 0), (20, 0), (20, 0), (20, 0)],
        control=[(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)],
    )
    ordinary = risk_table(
        treated=[(8, 1), (12, 1), (15, 0), (20, 0), (20, 0)],
        control=[(3, 1), (5, 1), (9, 1), (11, 1), (20, 0)],
    )
    for table in (separated, ordinary):
        estimate = fit(table)
        hr, lo, hi = firth_by_direct_optimisation(table)
        assert (estimate.hr, estimate.ci_lo, estimate.ci_hi) == (
            approx(hr, rel=1e-6),
            approx(lo, rel=1e-4),
            approx(hi, rel=1e-4),
        )


def test_tied_events_in_both_arms_use_breslow_ties():
    table = risk_table(
        treated=[(4, 1), (4, 1), (7, 1), (10, 0)],
        control=[(2, 1), (4, 1), (4, 1), (4, 1), (6, 1)],
    )
    assert any(d > 1 for _, d, _, _ in table)
    assert fit(table).hr == approx(firth_by_direct_optimisation(table)[0], rel=1e-6)


def test_no_event_time_with_both_arms_at_risk_says_nothing():
    # The only event comes after every treated animal has left: no information on the ratio.
    assert fit(risk_table(treated=[(2, 0), (3, 0)], control=[(5, 1), (6, 0)])) is None
    assert math.isfinite(fit(risk_table(treated=[(2, 1)], control=[(5, 1)])).hr)
