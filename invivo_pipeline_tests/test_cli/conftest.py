"""The ``cli`` fixture; the helpers beside it are in ``support.cli``."""

from invivo_pipeline_tests.support.cli import cli  # noqa: F401  (a fixture)
