"""Schemathesis over the network against the real app under uvicorn, on PostgreSQL with a trained model:
each generated case is sent as a partner (API key), as a consumer (session token) and anonymously.
No 5xx, responses match the documented schema, and every 400/404/405/422 is the stable error envelope
``{"error": {"code", "message", "field", "rule"}}``. Bounded (few examples per operation) for CI."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from credo.api import create_app
from credo.service import accounts
from credo.settings import Settings
from credo.store import create_store_engine, upgrade_schema
from tests.service.support import NOW, PASSWORD, World, make_world

ENVELOPE_STATUSES = {400, 404, 405, 422}


def _spec() -> dict[str, Any]:
    """The OpenAPI document, read at import from an app over a scratch store (the same code serves it)."""
    engine = create_store_engine(f"sqlite:///{Path(tempfile.mkdtemp(prefix='credo-spec-')) / 'spec.db'}")
    upgrade_schema(engine)
    try:
        return create_app(Settings(database_url=str(engine.url), dev_mode=True), engine).openapi()
    finally:
        engine.dispose()


schema = schemathesis.openapi.from_dict(_spec())


class _Live:
    """The world's app under uvicorn in a thread, on a free port."""

    def __init__(self, world: World) -> None:
        self.server = uvicorn.Server(uvicorn.Config(world.client.app, host="127.0.0.1", port=0,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        started = threading.Event()
        while not self.server.started:
            started.wait(0.02)  # uvicorn flags readiness with a bool; poll it briefly
        self.url = f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, _Live, dict[str, dict[str, str]]]]:
    world = make_world(tmp_path_factory.mktemp("live-fuzz"), tmp_path_factory.getbasetemp() / "service-world",
                       backend="postgres")
    cid = world.high()
    consumer = world.consumer_token(cid)
    partner = world.partner("lender")
    world.client.post("/v1/me/access-consents", headers=consumer, json={
        "partner_id": "lender", "purpose": "credit_application", "scope": "score_with_reasons",
        "expires_at": (NOW + timedelta(days=30)).isoformat()})
    world.client.post("/v1/partners/programmes", headers=partner, json={
        "id": "p600", "name": "perk", "purpose": "credit_application", "threshold": 600})
    server = _Live(world)
    yield world, server, {"partner": partner, "consumer": consumer, "anonymous": {}}
    server.stop()
    world.close()


def _assert_envelope(response: Any, who: str) -> None:
    if response.status_code not in ENVELOPE_STATUSES:
        return
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, f"{who}: {response.status_code} {response.text[:300]}"
    assert {"code", "message", "field", "rule"} <= set(body["error"]), f"{who}: {response.text[:300]}"
    assert isinstance(body["error"]["code"], str) and body["error"]["code"], f"{who}: {response.text[:300]}"


@pytest.mark.postgres
@schema.parametrize()
@settings(max_examples=2, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_live_server_on_postgres_no_5xx_and_errors_in_the_envelope(case, live) -> None:  # noqa: ANN001
    world, server, identities = live
    if case.path == "/v1/me/close":
        case.body = {"password": "not the password"}  # never close the fuzzing account
    for who, headers in identities.items():
        headers = dict(headers)
        if case.path == "/v1/sessions/current" and who == "consumer":  # log out a throwaway session only
            token, _ = accounts.login(world.svc, f"u-{world.high()}", PASSWORD, now=world.clock[0])
            headers["Authorization"] = f"Bearer {token}"
        response = case.call_and_validate(base_url=server.url, headers=headers,
                                          checks=[not_a_server_error, response_schema_conformance])
        _assert_envelope(response, who)
