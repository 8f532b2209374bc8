"""Plots and HTML reports from the dbt marts: pure Python (pandas, matplotlib), no Dagster.

``build.write_reports(db_path, out_dir)`` writes one self-contained page per study and an index;
``snapshot.report_snapshot(db_path)`` gives it a copy of the tables it reads, so that writers need
not wait while it draws. ``plots`` renders the figures as PNG bytes for whoever wants them (the
Dagster assets attach them to their materializations).
"""
