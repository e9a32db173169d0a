"""The pages hold what they take to the API's text rule (:mod:`credo.policy.text`): a control character
in a form field, a query or a path parameter is refused with ``INPUT_CONTROL_CHARACTER``, naming the
field and the rule, and nothing is written, on both stores (PostgreSQL cannot store NUL at all: it was
a server error there)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from credo.store.tables import accounts, disputes, perk_programmes
from tests.service.support import PASSWORD, World, make_world


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = make_world(tmp_path_factory.mktemp("form-text"), tmp_path_factory.getbasetemp() / "service-world",
                   backend=request.param)
    yield w
    w.close()


def _rows(world: World, table) -> int:  # noqa: ANN001
    with world.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _refused(response, field: str) -> None:  # noqa: ANN001
    assert response.status_code == 400, response.text[:500]
    assert "INPUT_CONTROL_CHARACTER" in response.text
    assert field in response.text and "no control characters" in response.text


@pytest.mark.parametrize("bad", ["\x00", "\x1b[31m", "\x7f", "\u0085"])
def test_signup_with_a_control_character_is_refused_and_creates_no_account(world: World, bad: str) -> None:
    world.client.cookies.clear()
    before = _rows(world, accounts)
    r = world.client.post("/signup", data={"username": f"nul{bad}user", "password": "a long enough password"})
    _refused(r, "username")
    assert _rows(world, accounts) == before


def test_a_dispute_reason_with_nul_is_refused_and_opens_nothing(world: World) -> None:
    consumer = world.high(3)
    world.consumer_token(consumer, "nul-dispute")
    world.client.cookies.clear()
    assert world.client.post("/login", data={"username": "nul-dispute", "password": PASSWORD},
                             follow_redirects=False).status_code == 303
    before = _rows(world, disputes)
    r = world.client.post("/me/disputes", data={"partner_id": "lender", "event_id": "e-1", "reason": "wrong\x00"})
    _refused(r, "reason")
    assert _rows(world, disputes) == before


def test_a_partner_programme_name_with_nul_is_refused_and_registers_nothing(world: World) -> None:
    world.client.cookies.clear()
    assert world.client.post("/partner/login", data={"api_key": world.keys["lender"]},
                             follow_redirects=False).status_code == 303
    before = _rows(world, perk_programmes)
    r = world.client.post("/partner/programmes", data={"programme_id": "nul-perk", "name": "perk\x00",
                                                       "purpose": "credit_application", "threshold": "650"})
    _refused(r, "name")
    assert _rows(world, perk_programmes) == before


def test_a_query_parameter_with_nul_is_refused(world: World) -> None:
    world.client.cookies.clear()
    for path in ("/login", "/partner/login", "/operator/login"):
        _refused(world.client.get(path, params={"next": "/me\x00"}), "next")
