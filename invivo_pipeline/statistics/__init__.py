"""Statistics that SQL cannot compute: the per-study mixed-effects growth model and the synergy
of combinations derived from it, and the Firth-penalised Cox model of the survival marts.

Pure, typed numerical code (numpy, pandas, statsmodels, scipy): no Dagster, no dbt, no sources.
The dbt-duckdb Python models (``rpt_growth_model``, ``rpt_combination_synergy``,
``int_survival_vs_control``) call it and return its frames.
"""
