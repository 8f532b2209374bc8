"""The client-credentials grant and Bearer tokens, as the API's OAuth server behaves."""

from __future__ import annotations

import base64
import time

import httpx

from invivo_pipeline.sources.invivo.simulator.generate.world import World
from invivo_pipeline.sources.invivo.simulator.serve.server import SimulatorServer
from invivo_pipeline.sources.invivo.simulator.serve.settings import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    SimulatorSettings,
)
from invivo_pipeline.sources.invivo.table import API_PREFIX, TOKEN_PATH

GRANT = {
    "grant_type": "client_credentials",
    "client_id": DEMO_CLIENT_ID,
    "client_secret": DEMO_CLIENT_SECRET,
}


def _studies(server: SimulatorServer, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.get(server.base_url + API_PREFIX + "/studies", headers=headers)


def test_token_from_a_json_body(server: SimulatorServer):
    response = httpx.post(server.base_url + TOKEN_PATH, json=GRANT)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["token_type", "expires_in", "access_token"]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 86400
    assert _studies(server, body["access_token"]).status_code == 200


def test_token_from_a_form_body(server: SimulatorServer):
    response = httpx.post(server.base_url + TOKEN_PATH, data=GRANT)
    assert response.status_code == 200
    assert _studies(server, response.json()["access_token"]).status_code == 200


def test_token_with_http_basic_client_authentication(server: SimulatorServer):
    basic = base64.b64encode(f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}".encode()).decode()
    response = httpx.post(
        server.base_url + TOKEN_PATH,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200


def test_each_token_is_new(server: SimulatorServer):
    first = httpx.post(server.base_url + TOKEN_PATH, json=GRANT).json()["access_token"]
    second = httpx.post(server.base_url + TOKEN_PATH, json=GRANT).json()["access_token"]
    assert first != second


def test_wrong_or_missing_credentials_are_401(server: SimulatorServer):
    for body in ({**GRANT, "client_secret": "wrong"}, {**GRANT, "client_id": "nobody"}):
        response = httpx.post(server.base_url + TOKEN_PATH, json=body)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
    response = httpx.post(server.base_url + TOKEN_PATH, data={"grant_type": "client_credentials"})
    assert response.status_code == 401


def test_wrong_grant_type_is_400(server: SimulatorServer):
    response = httpx.post(server.base_url + TOKEN_PATH, json={**GRANT, "grant_type": "password"})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_missing_or_garbage_tokens_are_401_json(server: SimulatorServer):
    for token in (None, "garbage", "x" * 64):
        response = _studies(server, token)
        assert response.status_code == 401
        assert response.json() == {"message": "Unauthenticated."}
    response = httpx.get(
        server.base_url + API_PREFIX + "/studies", headers={"Authorization": "Basic abc"}
    )
    assert response.status_code == 401


def test_an_expired_token_is_401(world: World):
    with SimulatorServer(settings=SimulatorSettings(token_ttl_s=0.4), world=world) as server:
        token = httpx.post(server.base_url + TOKEN_PATH, json=GRANT).json()["access_token"]
        assert _studies(server, token).status_code == 200
        time.sleep(0.6)
        response = _studies(server, token)
        assert response.status_code == 401
        assert response.json() == {"message": "Unauthenticated."}
        assert server.stats()["unauthorized"] == 1
