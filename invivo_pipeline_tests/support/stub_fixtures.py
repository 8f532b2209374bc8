"""One stub API server per test session; each test gets it with a fresh script. Test folders
that use it import the fixtures into their conftest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from invivo_pipeline_tests.support.stub_api import StubServer


@pytest.fixture(scope="session")
def stub_server() -> Iterator[StubServer]:
    server = StubServer().start()
    yield server
    server.stop()


@pytest.fixture
def stub(stub_server: StubServer) -> StubServer:
    stub_server.reset()
    return stub_server
