"""The simulator fixtures; the helpers beside them are in ``support.simulator_api``."""

from invivo_pipeline_tests.support.simulator_api import api, server, world  # noqa: F401
