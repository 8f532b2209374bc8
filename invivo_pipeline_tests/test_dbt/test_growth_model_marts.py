"""``rpt_growth_model`` and ``rpt_combination_synergy`` from a real ``dbt build`` of hand-built
studies, against a least-squares fit done here (numpy lstsq on the volumes listed below).

Study "combo" (day 0 = 2026-01-10): control, agent A alone, agent B alone and A + B, four animals
each measured on days 0, 2, …, 10 (balanced), V = 100·f·exp(b·t) − 1 with the animal's starting
factor f (animal variance in the intercept only) and a small wobble, rounded to 0.01 mm³. On
balanced data the REML fixed effects are the least-squares lines whatever the animal variance.
Study "day0only": a treated group measured on day 0 only, so its fit fails (a status row, the
build still succeeds). The scenario's study "hand" shows the dropouts counted.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pytest
from pytest import approx

from invivo_pipeline_tests.support.dbt import StudyBuilder, dbt_build, load, one, query
from invivo_pipeline_tests.support.dbt_scenario import DAY0, hand_study

pytestmark = pytest.mark.slow  # end to end: see docs/development.md

RATES = {"grp_cc": 0.15, "grp_ca": 0.11, "grp_cb": 0.10, "grp_cab": 0.02}
FACTORS = (0.8, 0.95, 1.1, 1.25)
WOBBLE = (0.0, 0.02, -0.015, 0.01, -0.02, 0.005)
DAYS = (0, 2, 4, 6, 8, 10)


def volume(group: str, animal: int, day_index: int) -> float:
    log_v = math.log(100 * FACTORS[animal]) + RATES[group] * DAYS[day_index]
    return round(math.exp(log_v + WOBBLE[(day_index + animal) % 6]) - 1, 2)


def combo_study() -> StudyBuilder:
    s = StudyBuilder("combo", DAY0)
    s.study(started_on=DAY0)
    s.group("grp_cc", "G1 Vehicle", control=True)
    s.group("grp_ca", "G2 Drug A", control=False)
    s.group("grp_cb", "G3 Drug B", control=False)
    s.group("grp_cab", "G4 Drug A + Drug B", control=False)
    s.treatment("tmt_ca", "grp_ca", dose=10, dose_volume=10, stock=1)
    s.treatment("tmt_cb", "grp_cb", dose=30, dose_volume=10, stock=3)
    # The combination group gets the same two treatments (a second link of each).
    for treatment in [t for t in s.records["treatments"] if t["id"] in ("tmt_ca", "tmt_cb")]:
        s.records["study_group_treatments"].append({**treatment, "study_group": {"id": "grp_cab"}})
    s.cage("KC")
    for group in RATES:
        for animal in range(4):
            animal_id = f"{group}-{animal}"
            s.animal(animal_id, group, "KC")
            for i, day in enumerate(DAYS):
                s.measure(animal_id, day, volume=volume(group, animal, i), weight=20)
    return s


def day0_only_study() -> StudyBuilder:
    s = StudyBuilder("day0only", DAY0)
    s.study(started_on=DAY0)
    s.group("grp_dc", "G1 Vehicle", control=True)
    s.group("grp_dt", "G2 Drug", control=False)
    s.treatment("tmt_dt", "grp_dt", dose=10, dose_volume=10, stock=1)
    s.cage("KD")
    for animal in ("dc1", "dc2", "dc3", "dt1", "dt2", "dt3"):
        s.animal(animal, "grp_dc" if animal.startswith("dc") else "grp_dt", "KD")
        s.measure(animal, 0, volume=100, weight=20)
        if animal.startswith("dc"):
            s.measure(animal, 2, volume=150, weight=20)
    return s


def least_squares() -> dict[str, tuple[float, float]]:
    groups = list(RATES)
    rows, y = [], []
    for g, group in enumerate(groups):
        for animal in range(4):
            for i, day in enumerate(DAYS):
                x = [0.0] * (2 * len(groups))
                x[g], x[len(groups) + g] = 1.0, float(day)
                rows.append(x)
                y.append(math.log(volume(group, animal, i) + 1))
    beta, *_ = np.linalg.lstsq(np.array(rows), np.array(y), rcond=None)
    return {g: (beta[i], beta[len(groups) + i]) for i, g in enumerate(groups)}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("growth")
    path = work / "invivo.duckdb"
    load(path, [hand_study(), combo_study(), day0_only_study()])
    run = dbt_build(path, work)
    assert run.returncode == 0, run.output[-4000:]
    statuses = run.statuses()
    assert statuses["rpt_growth_model"] == "success"
    assert statuses["rpt_combination_synergy"] == "success"
    return path


def test_growth_rates_and_contrasts_equal_least_squares(db):
    lines = least_squares()
    a_c, b_c = lines["grp_cc"]
    control = one(db, "select * from marts.rpt_growth_model where group_id = 'grp_cc'")
    assert control["is_control"] and control["growth_rate"] == approx(b_c, abs=1e-9)
    assert control["eval_day"] == 10  # the last day the control keeps ≥ 3 animals
    for group in ("grp_ca", "grp_cb", "grp_cab"):
        a_g, b_g = lines[group]
        row = one(db, "select * from marts.rpt_growth_model where group_id = ?", group)
        assert row["status"] == "ok" and row["control_group_id"] == "grp_cc"
        assert (row["n_animals"], row["n_observations"]) == (4, 24)
        assert row["slope_diff"] == approx(b_g - b_c, abs=1e-9)
        assert row["growth_rate_ratio"] == approx(b_g / b_c, rel=1e-7)
        tc = 100 * math.exp(a_g - a_c + (b_g - b_c) * 10)
        assert row["pct_t_over_c_model"] == approx(tc, rel=1e-7)
        assert row["tgi_model_pct"] == approx(100 - tc, rel=1e-7)
        assert row["p_adj"] >= row["p_value"] and row["p_adj_method"] == "holm"
        assert row["slope_diff_ci_lo"] < row["slope_diff"] < row["slope_diff_ci_hi"]


def test_dropouts_count_with_every_observation(db):
    rows = {
        r["group_id"]: r
        for r in query(db, "select * from marts.rpt_growth_model where study_id = 'hand'")
    }
    # grp_c: c1 4 volumes, c2 4, c3 3 (endpoint day 4), c4 2 (found dead day 3).
    assert (rows["grp_c"]["n_animals"], rows["grp_c"]["n_observations"]) == (4, 13)
    assert (rows["grp_t"]["n_animals"], rows["grp_t"]["n_observations"]) == (3, 11)
    assert (rows["grp_r"]["n_animals"], rows["grp_r"]["n_observations"]) == (3, 11)
    assert {r["status"] for r in rows.values()} == {"ok"}
    assert rows["grp_r"]["slope_diff"] < 0 and rows["grp_r"]["growth_rate"] < 0


def test_a_study_that_cannot_be_fitted_is_a_status_row(db):
    rows = query(db, "select * from marts.rpt_growth_model where study_id = 'day0only'")
    assert {r["status"] for r in rows} == {"failed"}
    assert {r["group_id"] for r in rows} == {"grp_dc", "grp_dt"}
    assert all(r["growth_rate"] is None for r in rows)
    assert not query(db, "select * from marts.rpt_growth_model where study_id = 'draft'")


def test_bliss_and_hsa_synergy_of_the_combination(db):
    b = {g: slope for g, (_, slope) in least_squares().items()}
    rows = {r["reference"]: r for r in query(db, "select * from marts.rpt_combination_synergy")}
    assert set(rows) == {"bliss", "hsa"}
    bliss, hsa = rows["bliss"], rows["hsa"]
    assert (bliss["agent_a_group_id"], bliss["agent_b_group_id"]) == ("grp_ca", "grp_cb")
    assert bliss["combination_group_id"] == "grp_cab" and bliss["study_id"] == "combo"
    bliss_excess = b["grp_ca"] + b["grp_cb"] - b["grp_cc"] - b["grp_cab"]
    hsa_excess = min(b["grp_ca"], b["grp_cb"]) - b["grp_cab"]
    assert bliss["rate_excess"] == approx(bliss_excess, abs=1e-9)
    assert hsa["rate_excess"] == approx(hsa_excess, abs=1e-9)
    assert bliss["combination_index"] == approx(math.exp(-bliss_excess * 10), rel=1e-7)
    assert bliss["synergy_score"] == approx(100 * (1 - math.exp(-bliss_excess * 10)), rel=1e-7)
    assert bliss["interpretation"] == "synergy" and hsa["interpretation"] == "synergy"


def test_fitting_one_study_at_a_time_gives_the_same_tables(db, tmp_path):
    """The two models read the volumes a batch of studies at a time, to bound dbt's memory;
    batches of one study give, row for row, what the default batch gave."""
    copy = tmp_path / "invivo.duckdb"
    shutil.copy(db, copy)
    models = ("rpt_growth_model", "rpt_combination_synergy")
    run = dbt_build(
        copy,
        tmp_path,
        "--select",
        *models,
        "--vars",
        "{python_model_studies_per_batch: 1}",
    )
    assert run.returncode == 0, run.output[-4000:]
    assert {run.statuses()[m] for m in models} == {"success"}
    studies = query(copy, "select count(distinct study_id) as n from marts.rpt_growth_model")
    assert studies[0]["n"] >= 3  # so that one study a batch is several batches
    for model in models:
        rows = query(copy, f"select count(*) as n from marts.{model}")[0]["n"]
        assert rows > 0
        with duckdb.connect() as con:
            con.execute(f"attach '{db}' as default_batch (read_only)")
            con.execute(f"attach '{copy}' as one_a_batch (read_only)")
            for a, b in (("default_batch", "one_a_batch"), ("one_a_batch", "default_batch")):
                extra = con.execute(
                    f"select count(*) from (select * from {a}.marts.{model} "
                    f"except all select * from {b}.marts.{model})"
                ).fetchall()[0][0]
                assert extra == 0, (model, a)
