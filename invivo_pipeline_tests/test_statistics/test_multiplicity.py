"""Holm's adjustment against statsmodels' ``multipletests`` (ties, p near 1, one test)."""

from __future__ import annotations

import pytest
from statsmodels.stats.multitest import multipletests

from invivo_pipeline.statistics.multiplicity import holm


@pytest.mark.parametrize(
    "p_values",
    [[0.01, 0.04, 0.03], [0.2, 0.2, 0.001, 0.9], [0.6, 0.7], [0.04], [1e-12, 0.5, 0.049, 0.02]],
)
def test_holm_equals_statsmodels(p_values):
    expected = multipletests(p_values, method="holm")[1]
    assert holm(p_values) == pytest.approx(list(expected), abs=1e-15)
