"""The receiver: only the secret's holder gets in, every reference event is stored exactly once,
and malformed or oversized bodies are refused without being stored (or read whole)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from invivo_pipeline.sources.invivo.webhooks.app import SECRET_HEADER, WEBHOOK_PATH, create_app
from invivo_pipeline.sources.invivo.webhooks.limits import MAX_DEPTH
from invivo_pipeline.sources.invivo.webhooks.server import ReceiverServer
from invivo_pipeline.sources.invivo.webhooks.store import EventStore

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "reference_examples.json"
REFERENCE_EVENTS = json.loads(FIXTURES.read_text())["webhooks"]
SECRET = "shared-secret-0123456789"
LIMIT = 64 * 1024


@pytest.fixture
def store(tmp_path):
    return EventStore(tmp_path / "events.sqlite")


@pytest.fixture
def client(store):
    with TestClient(create_app(store, SECRET, max_body_bytes=LIMIT)) as c:
        yield c


def post(client, body, secret: str | None = SECRET, **kwargs):
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(
        WEBHOOK_PATH, content=content, headers=headers | kwargs.pop("headers", {}), **kwargs
    )


def event(n: int = 0) -> dict:
    return REFERENCE_EVENTS[n]["body"]


@pytest.mark.parametrize("example", REFERENCE_EVENTS, ids=lambda e: e["event"])
def test_every_reference_event_is_accepted_and_stored(client, store, example):
    response = post(client, example["body"])

    assert response.status_code == 200, response.text
    assert response.json() == {"id": example["body"]["id"], "stored": True}
    (stored,) = store.since(0)
    assert stored.event == example["event"]
    assert stored.envelope == example["body"], "stored byte for byte as received"


@pytest.mark.parametrize(
    "secret", [None, "", "not-the-secret", SECRET + "x", SECRET[:-1], SECRET.upper()], ids=repr
)
def test_anything_but_the_secret_is_401_and_stores_nothing(client, store, secret, caplog):
    caplog.set_level(logging.DEBUG)

    response = post(client, event(), secret=secret)

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}
    assert store.count() == 0
    assert SECRET not in caplog.text
    assert not secret or secret not in caplog.text, "a wrong secret is not logged either"


def test_the_secret_is_never_logged_nor_echoed(client, caplog):
    caplog.set_level(logging.DEBUG)

    responses = [post(client, event()), post(client, event()), post(client, b"{")]

    assert [r.status_code for r in responses] == [200, 200, 422]
    assert SECRET not in caplog.text
    assert SECRET_HEADER.lower() not in caplog.text.lower()
    assert all(SECRET not in r.text and SECRET not in str(r.headers) for r in responses)


def test_a_redelivered_event_is_acknowledged_and_stored_once(client, store):
    first = post(client, event(6))
    again = post(client, event(6))
    changed_body_same_id = post(client, {**event(6), "created_at": "2030-01-01T00:00:00Z"})

    assert [r.status_code for r in (first, again, changed_body_same_id)] == [200, 200, 200]
    assert [r.json()["stored"] for r in (first, again, changed_body_same_id)] == [
        True,
        False,
        False,
    ]
    assert store.count() == 1
    assert store.since(0)[0].envelope == event(6), "the first delivery is the one kept"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "not valid JSON"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'"whe_1"', "expected a JSON object"),
        (json.dumps({"event": "study.updated", "payload": {}}).encode(), "id: missing"),
        (json.dumps({"id": "whe_1", "payload": {}}).encode(), "event: missing"),
        (json.dumps({"id": "whe_1", "event": "study.updated"}).encode(), "payload: missing"),
        (
            json.dumps({"id": "whe_1", "event": "study.updated", "payload": [1]}).encode(),
            "payload: dict_type",
        ),
        (
            json.dumps({"id": "", "event": "study.updated", "payload": {}}).encode(),
            "id: must be",
        ),
        (
            json.dumps({"id": "whe_1", "event": "DROP TABLE", "payload": {}}).encode(),
            "event: must look like",
        ),
        (
            json.dumps(
                {"id": "whe_1", "event": "study.updated", "payload": {}, "created_at": "soon"}
            ).encode(),
            "created_at",
        ),
    ],
)
def test_malformed_bodies_are_422_with_paths_not_values(client, store, body, problem):
    response = post(client, body)

    assert response.status_code == 422
    assert any(problem in e for e in response.json()["errors"]), response.json()
    assert store.count() == 0


def test_an_oversized_body_is_413_from_its_declared_length(client, store):
    big = {**event(), "payload": {"padding": "x" * LIMIT}}

    response = post(client, big)

    assert response.status_code == 413
    assert store.count() == 0


def test_an_oversized_stream_is_cut_off_without_being_read_whole(store):
    # Over real HTTP (the test client would buffer the body first): a chunked upload with no
    # Content-Length, 1024 times the limit.
    pulled = []

    def chunks():
        for i in range(1024):
            pulled.append(i)
            yield b"x" * LIMIT

    with ReceiverServer(store, SECRET, max_body_bytes=LIMIT) as receiver:
        try:
            response = httpx.post(
                receiver.url, content=chunks(), headers={SECRET_HEADER: SECRET}, timeout=30
            )
            status = response.status_code
        except (httpx.WriteError, httpx.RemoteProtocolError):
            status = None  # the receiver answered and hung up while we were still sending

    assert status in (413, None)
    assert store.count() == 0
    assert len(pulled) < 1024, "the receiver stopped reading once past the limit"


def test_a_body_at_the_limit_is_accepted(client, store):
    body = json.dumps({**event(), "payload": {"padding": ""}}).encode()
    body = body.replace(b'"padding": ""', b'"padding": "' + b"x" * (LIMIT - len(body)) + b'"')
    assert len(body) == LIMIT

    assert post(client, body).status_code == 200
    assert store.count() == 1


def test_an_unknown_event_type_is_still_stored(client, store):
    # Forward compatible: the sensor decides what to do with it (nothing, today).
    response = post(client, {**event(), "id": "whe_new", "event": "animal.tattoo.created"})

    assert response.status_code == 200
    assert store.since(0)[0].event == "animal.tattoo.created"


def test_a_receiver_needs_a_secret(store):
    with pytest.raises(ValueError, match="secret"):
        create_app(store, "")


def test_only_the_webhook_route_takes_posts(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get(WEBHOOK_PATH).status_code == 405
    assert client.post("/webhooks/other", headers={SECRET_HEADER: SECRET}).status_code == 404


def _nested(depth: int) -> bytes:
    """A payload ``depth`` levels deep, as text (``json`` itself cannot write 1,000 levels)."""
    nested = '{"animal":' * (depth - 1) + "{}" + "}" * (depth - 1)
    return f'{{"id":"whe_deep","event":"animal.measurement.created","payload":{nested}}}'.encode()


def test_a_payload_nested_deeper_than_the_limit_is_422_and_not_stored(client, store):
    poison = _nested(1000)
    assert 11_000 < len(poison) < 12_000

    deep = post(client, poison)
    at_limit = post(client, _nested(MAX_DEPTH))

    assert deep.status_code == 422
    assert deep.json()["errors"] == [f"payload: nests deeper than {MAX_DEPTH} levels"]
    assert at_limit.status_code == 200
    assert [e.event_id for e in store.since(0)] == ["whe_deep"]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"id": "whe_1\n2026-12-04 INFO forged line"}, "id: must be 1 to 200 printable"),
        ({"id": "whe_\x1b[31mred"}, "id: must be 1 to 200 printable"),
        ({"id": "whe_\x00nul"}, "id: must be 1 to 200 printable"),
        ({"id": "w" * 201}, "id: must be 1 to 200 printable"),
        ({"event": "animal." + "a." * 4996 + "created"}, "event: must be at most 100 characters"),
        ({"client_id": "c" * 201}, "client_id: must be at most 200 characters"),
        ({"version": "v" * 201}, "version: must be at most 200 characters"),
    ],
    ids=["newline", "ansi", "nul", "long-id", "long-type", "long-client", "long-version"],
)
def test_event_fields_outside_their_bounds_are_422_with_one_clear_line(
    client, store, caplog, changes, problem
):
    caplog.set_level(logging.INFO, logger="invivo_pipeline.webhooks")

    response = post(client, {**event(), **changes})

    assert response.status_code == 422
    assert any(problem in e for e in response.json()["errors"]), response.json()
    assert store.count() == 0
    (record,) = caplog.records
    assert record.getMessage().startswith("rejected a webhook: ")
    assert "\n" not in record.getMessage() and "\x1b" not in record.getMessage()
    for value in changes.values():
        assert value[:20] not in caplog.text, "the value is not echoed"


def test_ids_and_types_are_escaped_in_the_log_lines(client, caplog):
    caplog.set_level(logging.INFO, logger="invivo_pipeline.webhooks")
    tricky = 'whe_1 (study.updated)" stored webhook whe_2'

    response = post(client, {**event(6), "id": tricky})

    assert response.status_code == 200
    assert [r.getMessage() for r in caplog.records] == [
        f"stored webhook {tricky!r} (animal.measurement.created)"
    ]
