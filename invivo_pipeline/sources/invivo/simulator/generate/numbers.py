"""Exact fixed-point arithmetic for the numbers the API sends as strings.

Values are integers in units of 10**-decimals (hundredths of a mm, tenths of a gram), so the
identities the reports check (volume = width·width·length/2, µl = g * ml/kg, mg/kg = mg/ml * ml/kg)
hold exactly in the served strings, and formatting a million of them stays cheap.
"""

from __future__ import annotations

import math


def fmt_fixed(value: int, decimals: int) -> str:
    """``value * 10**-decimals`` as the API writes it: no trailing zeros ("75", "82.5", "82.47")."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**decimals)
    if not frac:
        return f"{sign}{whole}"
    digits = f"{frac:0{decimals}d}".rstrip("0")
    return f"{sign}{whole}.{digits}"


def to_fixed(value: float, decimals: int) -> int:
    """Round half up to ``decimals`` places, as an integer of 10**-decimals units."""
    return math.floor(value * 10**decimals + 0.5)


def tumour_dimensions(volume_mm3: float, ratio: float) -> tuple[int, int]:
    """Caliper width and length (hundredths of a mm, length ≥ width) of a tumour of that volume."""
    width = (2.0 * volume_mm3 / ratio) ** (1.0 / 3.0)
    w = max(to_fixed(width, 2), 10)
    length = max(to_fixed(width * ratio, 2), w)
    return w, length


def tumour_volume(width_h: int, length_h: int) -> int:
    """``width * width * length / 2`` in hundredths of a mm³, rounded half up, from hundredths of mm."""
    # width_h² · length_h is in 1e-6 mm³; halve and rescale to 1e-2 mm³ with one integer division.
    return (width_h * width_h * length_h + 10_000) // 20_000
