"""A small oncology study whose every report value can be worked out by hand.

Study "hand" (UTC), day 0 = 2026-01-10 (tracking date), measurements on days 0, 2, 4 and 6, the data
cut-off is day 6 (2026-01-16). Tumour volumes (mm³) and body weights (g):

  control G1 "G1 Vehicle" (no treatment)       cages
    c1  100  400  1000  2000   W 20 21 22 23   K1   Tumour volume endpoint on day 6
    c2  100  200   400   800   W 20 20 20 20   K1   on study (doubles every 2 days)
    c3  100  500  2200    -    W 20 21 22  -   K2   Tumour volume endpoint on day 4
    c4  100  300    -     -    W 20 20  -   -  K2   Found dead on day 3
  treated G2 "G2 Drug 10 mg/kg QD" (tmt_a: 10 mg/kg, 10 ml/kg, 1 mg/ml), dosed daily
    t1   80   96   120   160   W 20 20 20 20   K3   dose of day 3 missing
    t2  100    -   130   150   W 20  - 20 20   K3   not measured on day 2; a second dose on day 1
    t3  120  124   140   170   W 20 20 20 20   K3   day 2 dosed from a 2 mg/ml stock (20 mg/kg)
  regression G3 "G3 Drug 30 mg/kg Q2D" (tmt_b: 30 mg/kg, 10 ml/kg, 3 mg/ml), dosed days 0, 2, 4, 6
    r1  100   60    45    -    W 20 18 16  -   K4   Body weight loss on day 4 (not dosed that day)
    r2  100   50    40    30   W 20 19 18 17   K4   on study; not dosed on day 6 (loss 15 %)
    r3  100   40    35    20   W 20 20 19 19   K3   Moribund on day 6 (after its dose)

t3's day-0 calipers are stored swapped (length < width: a warn-only test) and r1 loses 11 % of
its weight from day 2 to day 4 (a warn-only body-weight jump). A draft study with nothing in it
completes the tenant.
"""

from __future__ import annotations

from datetime import date

from invivo_pipeline_tests.support.dbt import StudyBuilder

DAY0 = date(2026, 1, 10)

VOLUMES = {
    "c1": [100, 400, 1000, 2000],
    "c2": [100, 200, 400, 800],
    "c3": [100, 500, 2200, None],
    "c4": [100, 300, None, None],
    "t1": [80, 96, 120, 160],
    "t2": [100, None, 130, 150],
    "t3": [120, 124, 140, 170],
    "r1": [100, 60, 45, None],
    "r2": [100, 50, 40, 30],
    "r3": [100, 40, 35, 20],
}
WEIGHTS = {
    "c1": [20, 21, 22, 23],
    "c2": [20, 20, 20, 20],
    "c3": [20, 21, 22, None],
    "c4": [20, 20, None, None],
    "t1": [20, 20, 20, 20],
    "t2": [20, None, 20, 20],
    "t3": [20, 20, 20, 20],
    "r1": [20, 18, 16, None],
    "r2": [20, 19, 18, 17],
    "r3": [20, 20, 19, 19],
}
GROUPS = {"c": "grp_c", "t": "grp_t", "r": "grp_r"}
CAGES = {
    "c1": "K1",
    "c2": "K1",
    "c3": "K2",
    "c4": "K2",
    "t1": "K3",
    "t2": "K3",
    "t3": "K3",
    "r1": "K4",
    "r2": "K4",
    "r3": "K3",
}
TERMINATIONS = {
    "c1": (6, "Tumour volume endpoint"),
    "c3": (4, "Tumour volume endpoint"),
    "c4": (3, "Found dead"),
    "r1": (4, "Body weight loss"),
    "r3": (6, "Moribund"),
}


def hand_study() -> StudyBuilder:
    s = StudyBuilder("hand", DAY0)
    s.study(started_on=DAY0)
    s.group("grp_c", "G1 Vehicle", control=True)
    s.group("grp_t", "G2 Drug 10 mg/kg QD", control=False)
    s.group("grp_r", "G3 Drug 30 mg/kg Q2D", control=False)
    s.treatment("tmt_a", "grp_t", dose=10, dose_volume=10, stock=1)
    s.treatment("tmt_b", "grp_r", dose=30, dose_volume=10, stock=3)
    for cage in sorted(set(CAGES.values())):
        s.cage(cage)
    for animal, cage in CAGES.items():
        day, reason = TERMINATIONS.get(animal, (None, None))
        s.animal(animal, GROUPS[animal[0]], cage, terminated_day=day, reason=reason)
        for i, study_day in enumerate((0, 2, 4, 6)):
            volume, weight = VOLUMES[animal][i], WEIGHTS[animal][i]
            if volume is not None or weight is not None:
                s.measure(
                    animal,
                    study_day,
                    volume=volume,
                    weight=weight,
                    swap_calipers=(animal, study_day) == ("t3", 0),
                )

    # G2, QD on days 0..6: t1 misses day 3, t2 gets a second dose on day 1, t3's day-2 dose is
    # made from a 2 mg/ml stock (20 mg/kg: the wrong dose, though d = c·DV and V = W·DV hold).
    for animal in ("t1", "t2", "t3"):
        for day in range(7):
            if (animal, day) == ("t1", 3):
                continue
            stock = 2 if (animal, day) == ("t3", 2) else 1
            s.dose(animal, "tmt_a", day, weight=20, dose=10 * stock, dose_volume=10, stock=stock)
    s.dose("t2", "tmt_a", 1, weight=20, dose=10, dose_volume=10, stock=1, hour=16)

    # G3, Q2D: r1 dosed days 0 and 2 (terminated on day 4 before its dose), r2 days 0, 2, 4
    # (held on day 6 at 15 % loss), r3 days 0, 2, 4, 6.
    for animal, days in (("r1", (0, 2)), ("r2", (0, 2, 4)), ("r3", (0, 2, 4, 6))):
        for day in days:
            weight = WEIGHTS[animal][day // 2]
            s.dose(animal, "tmt_b", day, weight=weight, dose=30, dose_volume=10, stock=3)

    s.observe("r1", 2, "Hunched posture", "severity", "Moderate")
    s.observe("r2", 2, "Hunched posture", "severity", "Mild")
    s.sample("c3", 4, "Blood", "volume", "ml", 0.5)
    s.sample("c3", 4, "Tumour", "weight", "g", 1.8)
    s.sample("c1", 6, "Blood", "volume", "ml", 0.7)
    return s


def draft_study() -> StudyBuilder:
    s = StudyBuilder("draft", DAY0, status="draft")
    s.study(started_on=None)
    return s


def two_control_study() -> StudyBuilder:
    """A study that breaks the one-control rule, for the failure path."""
    s = StudyBuilder("twoctl", DAY0)
    s.study(started_on=DAY0)
    s.group("grp_x1", "G1 Vehicle", control=True)
    s.group("grp_x2", "G2 Vehicle again", control=True)
    s.cage("KX")
    s.animal("x1", "grp_x1", "KX")
    s.measure("x1", 0, volume=100, weight=20)
    s.measure("x1", 2, volume=150, weight=20, swap_calipers=True)
    return s


def _qd_and_control(code: str, x: str) -> StudyBuilder:
    """Study ``code`` with a control animal ``<x>c`` and one treated QD animal ``<x>1``
    (treatment ``tmt_<x>``: 10 mg/kg, 10 ml/kg, 1 mg/ml), in one cage."""
    s = StudyBuilder(code, DAY0)
    s.study(started_on=DAY0)
    s.group(f"grp_{x}c", "G1 Vehicle", control=True)
    s.group(f"grp_{x}t", "G2 Drug 10 mg/kg QD", control=False)
    s.treatment(f"tmt_{x}", f"grp_{x}t", dose=10, dose_volume=10, stock=1)
    s.cage(f"K{x.upper()}")
    s.animal(f"{x}1", f"grp_{x}t", f"K{x.upper()}")
    s.animal(f"{x}c", f"grp_{x}c", f"K{x.upper()}")
    return s


def window_study() -> StudyBuilder:
    """One QD animal dosed on days 0, 1 and twice on day 3 (none on day 2), and a control tumour
    that crosses 2000 mm³ between day 2 (1000) and day 3 (4000)."""
    s = _qd_and_control("window", "w")
    for day, volume in enumerate((100, 500, 1000, 4000)):
        s.measure("w1", day, volume=100, weight=20)
        s.measure("wc", day, volume=volume, weight=20)
    for day, hour in ((0, 10), (1, 10), (3, 10), (3, 16)):
        s.dose("w1", "tmt_w", day, weight=20, dose=10, dose_volume=10, stock=1, hour=hour)
    return s


def weighing_study() -> StudyBuilder:
    """One QD animal weighed on days 0 (20 g), 3 (23 g), 10 (30 g) and 12 (32 g) only, dosed on
    days 0, 1, 2, 4, 5, 7, 10 and 11, so that each dose's nearest weighing is on the same day,
    before, after, too far either way (7: 4 and 3 days) or as near before as after (11)."""
    s = _qd_and_control("weighing", "n")
    for day, weight in ((0, 20), (3, 23), (10, 30), (12, 32)):
        s.measure("n1", day, volume=100, weight=weight)
        s.measure("nc", day, volume=100, weight=20)
    for day in (0, 1, 2, 4, 5, 7, 10, 11):
        s.dose("n1", "tmt_n", day, weight=20, dose=10, dose_volume=10, stock=1)
    return s


ODD_CONTROL = {  # day 0, 2, 4; the day-2 mean equals the day-0 mean, up to float rounding
    "oc1": [103.4, 85.75, 400],
    "oc2": [95.72, 118.39, 500],
    "oc3": [100.59, 95.57, 600],
}
ODD_TREATED = {  # the same for the treated mean on day 2; a real regression on day 4
    "ot1": [118.29, 100.71, 50],
    "ot2": [108.25, 106.06, 60],
    "ot3": [100.17, 119.94, 70],
}
ODD_ZEROS = {
    "oz1": [100, 100, 0],
    "oz2": [100, 100, 0],
    "oz3": [100, 100, 0],
    "oz4": [100, 100, 50],
}
UNMAPPED_REASON = '<script>alert("x")</script> cull'


def odd_study() -> StudyBuilder:
    """A tenant's study with the irregularities real records have, one of each:

    - the control's mean on day 2 is its day-0 mean again (ΔC = 0 but for ~3e-14 of rounding),
      and so is the treated mean (ΔT ≈ −3e-14); on day 4 the control grew and ot* regressed;
    - group G3 "zeros": 3 of 4 tumours measured at 0 mm³ on day 4, the fourth at 50;
    - day 6 has body weights only (no tumour volume) for every animal;
    - ot2's day-0 dose is recorded as 20 mg/kg from a 1 mg/ml stock at 10 ml/kg (c·DV = 10);
    - oc3 is terminated on day 4 for a reason not in the seed (with markup in it), and weighed on
      day 6 all the same;
    - oz1 weighs 25 g on day 4 (+25 %: a body-weight jump).
    """
    s = StudyBuilder("odd", DAY0)
    s.study(started_on=DAY0)
    s.group("grp_oc", "G1 Vehicle", control=True)
    s.group("grp_ot", "G2 Drug 10 mg/kg QD", control=False)
    s.group("grp_oz", "G3 Zeros", control=False)
    s.treatment("tmt_ot", "grp_ot", dose=10, dose_volume=10, stock=1)
    s.cage("KO")
    for volumes, group in ((ODD_CONTROL, "grp_oc"), (ODD_TREATED, "grp_ot"), (ODD_ZEROS, "grp_oz")):
        for animal, days in volumes.items():
            ended = (4, UNMAPPED_REASON) if animal == "oc3" else (None, None)
            s.animal(animal, group, "KO", terminated_day=ended[0], reason=ended[1])
            for i, volume in enumerate(days):
                weight = 25 if (animal, i) == ("oz1", 2) else 20
                s.measure(animal, 2 * i, volume=volume, weight=weight)
            s.measure(animal, 6, weight=25 if animal == "oz1" else 20)
    for animal in ODD_TREATED:
        dose = 20 if animal == "ot2" else 10
        s.dose(animal, "tmt_ot", 0, weight=20, dose=dose, dose_volume=10, stock=1)
    return s
