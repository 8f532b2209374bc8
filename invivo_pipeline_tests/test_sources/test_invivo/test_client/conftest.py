"""The stub API fixtures (``support.stub_fixtures``)."""

from invivo_pipeline_tests.support.stub_fixtures import stub, stub_server  # noqa: F401
