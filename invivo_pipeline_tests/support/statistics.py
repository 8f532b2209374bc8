"""Hand-built tumour-growth studies for the statistics tests, and an independent least-squares
fit of them (numpy.linalg.lstsq on a design written out here, not the package's)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

DAYS = (0, 2, 4, 6, 8, 10, 12, 14)


def balanced_study(
    rates: dict[str, float],
    *,
    animals: int = 5,
    noise: float = 0.03,
    intercept_sd: float = 0.0,
    seed: int = 3,
) -> pd.DataFrame:
    """Every animal measured on every day of ``DAYS``; ln(V + 1) = ln 120 + rate·t + ε.

    ``intercept_sd``: animal-to-animal spread of the starting volume (0: no animal variance)."""
    rng = np.random.default_rng(seed)
    rows = []
    for group, rate in rates.items():
        for i in range(animals):
            start = math.log(120) + rng.normal(0, intercept_sd) if intercept_sd else math.log(120)
            for day in DAYS:
                log_v = start + rate * day + rng.normal(0, noise)
                rows.append(
                    {
                        "study_id": "s",
                        "animal_id": f"{group}-{i}",
                        "group_id": group,
                        "study_day": day,
                        "tumor_volume_mm3": math.exp(log_v) - 1,
                    }
                )
    return pd.DataFrame(rows)


def least_squares(frame: pd.DataFrame, groups: list[str]) -> dict[str, tuple[float, float]]:
    """group → (intercept, slope) of ln(V + 1) on day, all groups in one OLS fit."""
    columns = []
    for group in groups:
        member = (frame["group_id"] == group).to_numpy(dtype=float)
        columns.append(member)
    for group in groups:
        member = (frame["group_id"] == group).to_numpy(dtype=float)
        columns.append(member * frame["study_day"].to_numpy(dtype=float))
    x = np.column_stack(columns)
    y = np.log(frame["tumor_volume_mm3"].to_numpy(dtype=float) + 1)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    k = len(groups)
    return {g: (float(beta[i]), float(beta[k + i])) for i, g in enumerate(groups)}
