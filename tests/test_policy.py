"""The data-protection policy (PRODUCT.md §3) holds in the schemas and at ingestion."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from credo.api import create_app
from credo.errors import ErrorCode
from credo.events import EVENT_MODELS
from credo.policy.protection import (
    ALLOWED_DATA_CATEGORIES,
    FORBIDDEN_CATEGORIES,
    category_in_text,
    category_of_name,
)
from credo.settings import Settings
from credo.store import events
from tests.factories import example, populate


def _walk_properties(schema: dict, defs: dict, path: str = ""):  # noqa: ANN202
    for name, prop in schema.get("properties", {}).items():
        yield f"{path}{name}", prop
        ref = prop.get("$ref")
        if ref:
            yield from _walk_properties(defs[ref.split("/")[-1]], defs, f"{path}{name}.")


def test_every_schema_field_declares_an_allowed_category_and_none_is_forbidden() -> None:
    seen = 0
    for name, model in EVENT_MODELS.items():
        schema = model.model_json_schema()
        for field, prop in _walk_properties(schema, schema.get("$defs", {})):
            seen += 1
            if field == "type":
                continue
            assert prop.get("data_category") in ALLOWED_DATA_CATEGORIES, f"{name}.{field} has no data category"
            assert category_of_name(field) is None, f"{name}.{field} names a forbidden category"
            assert category_of_name(prop.get("description", "")) is None, f"{name}.{field} description"
    assert seen > 100


def test_categories_are_complete_and_distinct() -> None:
    codes = [c.code for c in FORBIDDEN_CATEGORIES]
    assert len(codes) == len(set(codes)) == 17
    terms = [t for c in FORBIDDEN_CATEGORIES for t in c.terms]
    assert len(terms) == len(set(terms)), "a term must identify exactly one category"
    assert all(c.rationale.endswith(".") for c in FORBIDDEN_CATEGORIES)


def test_whole_word_matching_avoids_false_alarms() -> None:
    assert category_of_name("essex_branch") is None
    assert category_of_name("customerReligion".lower()) is None  # one word: not a match by itself
    assert category_of_name("customer_religion").code == "FC03"
    assert category_in_text("Customer is Muslim").code == "FC03"


@pytest.fixture
def api(engine):  # noqa: ANN001, ANN201
    keys = populate(engine)
    client = TestClient(create_app(Settings(database_url="sqlite://", dev_mode=True), engine=engine))
    client.headers["X-API-Key"] = keys["p-all"]
    return client


def _count(engine) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(events)).scalar_one()


@pytest.mark.parametrize("category", FORBIDDEN_CATEGORIES, ids=lambda c: c.code)
def test_each_forbidden_category_is_rejected_with_its_rule_and_nothing_stored(api, engine, category) -> None:  # noqa: ANN001
    term = category.terms[0]
    smuggled = [
        example("bill.paid", event_id="as-field", **{term: "x"}),
        example("bill.paid", event_id="as-note", note=f"customer {term.replace('_', ' ')} noted"),
        example("bill.paid", event_id="as-ref", bill_ref=f"b-{term}-1"),
    ]
    body = api.post("/v1/events", json={"events": smuggled}).json()
    assert body["rejected"] == 3
    for result, field in zip(body["results"], [term, "note", "bill_ref"]):
        error = result["errors"][0]
        assert error["code"] == ErrorCode.FORBIDDEN_CATEGORY.value
        assert error["rule"] == category.code
        assert error["field"] == field
        assert category.name in error["message"]
    assert _count(engine) == 0
