"""Statistics of tumour growth that SQL cannot compute: the per-study mixed-effects growth model
and the synergy of combinations derived from it.

Pure, typed numerical code (numpy, pandas, statsmodels, scipy): no Dagster, no dbt, no sources.
The dbt-duckdb Python models ``rpt_growth_model`` and ``rpt_combination_synergy`` call it with the
rows of ``marts.fct_animal_day`` and return its frames.
"""
