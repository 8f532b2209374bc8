"""Plots and HTML reports from the dbt marts: pure Python (pandas, matplotlib), no Dagster.

``build.write_reports(db_path, out_dir)`` writes one self-contained page per study and an index;
``plots`` renders the figures as PNG bytes for whoever wants them (the Dagster assets attach them to
their materializations).
"""
