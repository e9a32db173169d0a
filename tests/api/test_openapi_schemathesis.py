"""Schemathesis against the OpenAPI 3.1 spec, in-process over ASGI (no network): no 5xx, and every
response conforms to the documented schema. Bounded (few examples per operation) to stay fast."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from credo.api import create_app
from credo.settings import Settings
from credo.store import create_store_engine, upgrade_schema
from credo.service import accounts
from tests.service.support import NOW, PASSWORD, World, make_world


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = make_world(tmp_path_factory.mktemp("fuzz"), tmp_path_factory.getbasetemp() / "service-world")
    cid = world.high()
    world.headers = {**world.consumer_token(cid), **world.partner("lender")}  # type: ignore[attr-defined]
    world.client.post("/v1/me/access-consents", headers=world.headers, json={  # type: ignore[attr-defined]
        "partner_id": "lender", "purpose": "credit_application", "scope": "score_with_reasons",
        "expires_at": (NOW + timedelta(days=30)).isoformat()})
    world.client.post("/v1/partners/programmes", headers=world.headers, json={  # type: ignore[attr-defined]
        "id": "p600", "name": "perk", "purpose": "credit_application", "threshold": 600})
    yield world
    world.engine.dispose()


class _Proxy:
    """ASGI app forwarding to ``target``: the spec loads at import, the calls reach the test world's app."""

    def __init__(self) -> None:
        spec_dir = Path(tempfile.mkdtemp(prefix="credo-spec-"))
        engine = create_store_engine(f"sqlite:///{spec_dir / 'spec.db'}")
        upgrade_schema(engine)
        self.target = create_app(Settings(database_url=str(engine.url), dev_mode=True), engine)

    async def __call__(self, scope, receive, send):  # noqa: ANN001, ANN204
        await self.target(scope, receive, send)


PROXY = _Proxy()
schema = schemathesis.openapi.from_asgi("/openapi.json", PROXY)


@pytest.fixture(autouse=True)
def _route_to_world(fuzz_world: World) -> None:
    PROXY.target = fuzz_world.client.app


@schema.parametrize()
@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case, fuzz_world: World) -> None:  # noqa: ANN001
    if case.path == "/v1/me/close":
        case.body = {"password": "not the password"}  # never close the fuzzing account
    headers = dict(fuzz_world.headers)  # type: ignore[attr-defined]
    if case.path == "/v1/sessions/current":  # log out a throwaway session, never the fuzzing one
        token, _ = accounts.login(fuzz_world.svc, f"u-{fuzz_world.high()}", PASSWORD, now=fuzz_world.clock[0])
        headers["Authorization"] = f"Bearer {token}"
    case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])
