"""What the reports read: the dbt marts of one study, fetched once into pandas.

The reports only read the marts (and the staging group list, for the group order and the control
flag that every plot shares); no report recomputes a statistic dbt already made. ``TABLES_READ``
names every table they read: the reports step copies exactly these into a snapshot of its own
(``snapshot.report_snapshot``) and draws from it, so that rendering (the slow part) never holds
the warehouse while a sync waits to write it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from invivo_pipeline.reports.flow_tables import FLOW_MARTS_READ

GROWTH_METRIC = "tumor_volume_mm3"

MARTS_READ = (
    "rpt_study_overview",
    "rpt_group_day_summary",
    "rpt_tgi_by_day",
    "rpt_km_curve",
    "rpt_survival_summary",
    "rpt_bw_tolerability",
    "dq_findings",
    "rpt_growth_model",
    "rpt_animal_waterfall",
    "fct_animal_day",
)
"""The marts a study's ``StudyData`` is read from."""
STAGING_READ = ("stg_study_groups",)
TABLES_READ: tuple[tuple[str, str], ...] = (
    *(("marts", name) for name in MARTS_READ),
    *(("marts", name) for name in FLOW_MARTS_READ),
    *(("staging", name) for name in STAGING_READ),
)
"""(schema, table) of every table the reports read, pages and figures: what a report snapshot
copies, and what the study pages asset depends on. A query on any other table fails on the
snapshot, so a new one must be added here."""


@dataclass(frozen=True)
class StudyData:
    """One study's report inputs. Empty frames mean "no such data" (a tox study has no tumours)."""

    study_id: str
    overview: dict[str, Any]
    groups: pd.DataFrame
    """group_id, group_name, group_no, is_control; in the study's group order."""
    growth: pd.DataFrame = field(default_factory=pd.DataFrame)
    """rpt_group_day_summary rows of tumour volume, only the days that pass the plot cut-off."""
    tgi: pd.DataFrame = field(default_factory=pd.DataFrame)
    km: pd.DataFrame = field(default_factory=pd.DataFrame)
    survival: pd.DataFrame = field(default_factory=pd.DataFrame)
    body_weight: pd.DataFrame = field(default_factory=pd.DataFrame)
    dq_findings: pd.DataFrame = field(default_factory=pd.DataFrame)
    """marts.dq_findings rows of the study: the data-quality rules its records break."""
    growth_model: pd.DataFrame = field(default_factory=pd.DataFrame)
    """marts.rpt_growth_model rows with group_name and group_no: the forest plot's inputs."""
    waterfall: pd.DataFrame = field(default_factory=pd.DataFrame)
    """rpt_animal_waterfall rows: each animal's best response up to the evaluation day."""
    animal_curves: pd.DataFrame = field(default_factory=pd.DataFrame)
    """fct_animal_day tumour % change from baseline per animal and day from day 0, on study."""

    @property
    def name(self) -> str:
        return str(self.overview.get("study_name") or self.study_id)

    @property
    def code(self) -> str:
        return str(self.overview.get("study_code") or self.study_id)

    @property
    def title(self) -> str:
        """ "ONC-26-001 · MC38 syngeneic efficacy of NWB-5231": how the plots and pages name it."""
        return f"{self.code} · {self.name}" if self.code != self.name else self.name

    def summary(self) -> StudyData:
        """The study without its frames: what an index or a caption needs, kept per study by
        callers that go through many studies."""
        return StudyData(self.study_id, dict(self.overview), self.groups.iloc[0:0])

    @property
    def tgi_at_eval_day(self) -> pd.DataFrame:
        """The TGI rows of the evaluation day, one per treated group, in group order."""
        if self.tgi.empty:
            return self.tgi
        rows = self.tgi[self.tgi["is_eval_day"].fillna(False).astype(bool)]
        return rows.sort_values("group_no").reset_index(drop=True)


def _frame(con: duckdb.DuckDBPyConnection, sql: str, study_id: str) -> pd.DataFrame:
    return con.sql(sql, params=[study_id]).df()


STUDY_ORDER = "order by study_code, study_id"
"""The order of the studies on the index page, and of their drawing."""


def study_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every study the marts know, in study-code order (the order of the index page)."""
    rows = con.execute(f"select study_id from marts.rpt_study_overview {STUDY_ORDER}").fetchall()
    return [r[0] for r in rows]


def overviews(con: duckdb.DuckDBPyConnection) -> list[tuple[str, dict[str, Any]]]:
    """Every study's ``rpt_study_overview`` row, in ``study_ids`` order: what an index entry
    shows, read at once for studies whose pages are kept."""
    frame = con.sql(f"select * from marts.rpt_study_overview {STUDY_ORDER}").df()
    return [(row["study_id"], row) for row in frame.to_dict("records")]


def load_study(con: duckdb.DuckDBPyConnection, study_id: str) -> StudyData:
    overview = _frame(con, "select * from marts.rpt_study_overview where study_id = ?", study_id)
    if overview.empty:
        raise KeyError(f"study {study_id} is not in marts.rpt_study_overview")
    groups = _frame(
        con,
        """
        select group_id, group_name, group_no, coalesce(is_control, false) as is_control
        from staging.stg_study_groups where study_id = ? order by group_no, group_name
        """,
        study_id,
    )
    order = "group_no, s.study_day"
    with_no = "inner join staging.stg_study_groups g using (group_id)"
    growth = _frame(
        con,
        f"""
        select s.group_id, s.study_day, s.n_measured, s.n_on_study, s.mean, s.sem, g.group_no
        from marts.rpt_group_day_summary s {with_no}
        where s.study_id = ? and s.metric = '{GROWTH_METRIC}' and s.plot_ok
        order by {order}
        """,
        study_id,
    )
    tgi = _frame(
        con,
        f"""
        select s.group_id, s.group_name, g.group_no, s.study_day, s.n_t, s.n_c, s.mean_t,
               s.mean_c, s.tgi_delta_pct, s.tgi_ratio_pct, s.pct_t_over_c, s.regression_pct,
               s.nci_activity_class, s.is_eval_day
        from marts.rpt_tgi_by_day s {with_no}
        where s.study_id = ? order by {order}
        """,
        study_id,
    )
    km = _frame(
        con,
        """
        select k.group_id, k.endpoint_type, k.event_time, k.n_at_risk, k.n_event, k.n_censor,
               k.surv
        from marts.rpt_km_curve k where k.study_id = ?
        order by k.endpoint_type, k.group_id, k.event_time
        """,
        study_id,
    )
    survival = _frame(
        con,
        """
        select s.group_id, s.group_name, g.group_no, s.endpoint_type, s.n, s.events,
               s.median_days, s.ils_pct, s.logrank_p_adj, s.hr, s.hr_method, s.median_method,
               s.event_definition, s.censor_definition
        from marts.rpt_survival_summary s inner join staging.stg_study_groups g using (group_id)
        where s.study_id = ? order by s.endpoint_type, g.group_no
        """,
        study_id,
    )
    body_weight = _frame(
        con,
        f"""
        select s.group_id, s.study_day, s.n, s.mean_bw_pct_chg, s.sem_bw_pct_chg, g.group_no,
               s.max_mean_loss_pct, s.day_of_max_loss, s.n_ever_ge_alert, s.n_ever_ge_endpoint,
               s.tr_deaths, s.tolerated_flag
        from marts.rpt_bw_tolerability s {with_no}
        where s.study_id = ? and s.plot_ok
        order by {order}
        """,
        study_id,
    )
    dq_findings = _frame(
        con,
        """
        select rule, test_name, animal_name, animal_id, finding_on, record_id, detail
        from marts.dq_findings where study_id = ?
        order by rule, finding_on, animal_name, record_id
        """,
        study_id,
    )
    growth_model = _frame(
        con,
        """
        select m.group_id, g.group_name, g.group_no, m.is_control, m.n_animals,
               m.n_observations, m.growth_rate, m.growth_rate_ratio, m.growth_rate_ratio_ci_lo,
               m.growth_rate_ratio_ci_hi, m.p_value, m.p_adj, m.p_adj_method, m.eval_day,
               m.pct_t_over_c_model, m.tgi_model_pct, m.tgi_model_ci_lo, m.tgi_model_ci_hi,
               m.status, m.status_detail
        from marts.rpt_growth_model m inner join staging.stg_study_groups g using (group_id)
        where m.study_id = ? order by g.group_no, g.group_name
        """,
        study_id,
    )
    waterfall = _frame(
        con,
        """
        select group_id, animal_id, eval_day, best_pct_change, mrecist
        from marts.rpt_animal_waterfall where study_id = ? order by animal_id
        """,
        study_id,
    )
    animal_curves = _frame(
        con,
        """
        select group_id, animal_id, study_day, pct_dv from marts.fct_animal_day
        where study_id = ? and on_study and study_day >= 0 and pct_dv is not null
        order by animal_id, study_day
        """,
        study_id,
    )
    return StudyData(
        study_id=study_id,
        overview=overview.iloc[0].to_dict(),
        groups=groups,
        growth=growth,
        tgi=tgi,
        km=km,
        survival=survival,
        body_weight=body_weight,
        dq_findings=dq_findings,
        growth_model=growth_model,
        waterfall=waterfall,
        animal_curves=animal_curves,
    )


def load_studies(con: duckdb.DuckDBPyConnection) -> list[StudyData]:
    return [load_study(con, study_id) for study_id in study_ids(con)]
