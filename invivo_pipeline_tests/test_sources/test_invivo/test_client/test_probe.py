"""``probe``: how many records a list holds, for exactly one request of one record."""

from __future__ import annotations

import pytest

from invivo_pipeline_tests.support.client import records, run_client

MEASUREMENTS = "/studies/sdy_1/measurements"


def test_probe_reads_the_total_for_one_request_of_one_record(stub):
    stub.state.lists[MEASUREMENTS] = records("mst", 437)

    meta, client = run_client(
        stub,
        lambda c: c.probe("measurements", {"study_id": "sdy_1"}, {"measured_at": "2026-11-02"}),
    )

    assert meta.total == 437
    (seen,) = stub.state.requests_to("/api/public/v1" + MEASUREMENTS)
    assert seen.params == {"page": "1", "perPage": "1", "measured_at": "2026-11-02"}
    assert len(stub.state.token_requests) == 1
    assert client.metrics.requests == 2, "one token, one probe"
    assert client.metrics.minimum_requests("measurements") == 1


def test_probe_of_an_empty_list_is_zero(stub):
    stub.state.lists[MEASUREMENTS] = []

    meta, _ = run_client(stub, lambda c: c.probe("measurements", {"study_id": "sdy_1"}))

    assert meta.total == 0


@pytest.mark.parametrize(
    ("resource", "filters", "message"),
    [
        ("study_presets", None, "single object"),
        ("measurements", {"perPage": "5"}, "perPage"),
    ],
)
def test_probe_refuses_what_it_cannot_count(stub, resource, filters, message):
    with pytest.raises(ValueError, match=message):
        run_client(stub, lambda c: c.probe(resource, {"study_id": "sdy_1"}, filters))
