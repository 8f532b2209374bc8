"""Benchmarks of the pipeline: ``python -m bench --help``."""
