"""No control character reaches the store (issue 11, finding 5): every text input of every endpoint —
path and query parameters, and each field of each request body, read from the OpenAPI document so a
new endpoint is covered the day it appears — refuses NUL (and the other control characters) with
INPUT_CONTROL_CHARACTER naming the field and the rule, on SQLite and on PostgreSQL, where a NUL used
to be a 500. Reported events are refused one by one with the same code."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credo.policy.text import RULE, control_character_at, first_control_character
from tests.factories import example
from tests.service.support import World

CODE = "INPUT_CONTROL_CHARACTER"
BAD = "a\x00b"


def _schema(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _takes_text(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    schema = _schema(spec, schema)
    options = schema.get("anyOf", [schema])
    return any(o.get("type") in ("string", "array", "object") or "enum" in o or "$ref" in o for o in options)


def _bad_value(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    schema = _schema(spec, schema)
    kinds = {o.get("type") for o in schema.get("anyOf", [schema])}
    if "array" in kinds:
        return [BAD]
    if "object" in kinds:
        return {"key": BAD}
    return BAD


def _filler(schema: dict[str, Any]) -> str:
    return "1" if schema.get("type") == "integer" else "x"


def _headers(world: World, op: dict[str, Any], me: dict[str, str]) -> dict[str, str]:
    schemes = {name for requirement in op.get("security", []) for name in requirement}
    if "APIKeyHeader" in schemes:
        return world.partner("lender")
    return me if "HTTPBearer" in schemes else {}


def _cases(world: World, me: dict[str, str]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(operation, field, where, request keyword arguments) for every text input of every operation."""
    spec = world.client.get("/openapi.json").json()
    cases = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            headers = _headers(world, op, me)
            params = op.get("parameters", [])
            fill = {p["name"]: _filler(p["schema"]) for p in params if p["in"] == "path"}
            for p in params:
                if p["in"] in ("path", "query") and _takes_text(spec, p["schema"]):
                    values = {**fill, p["name"]: BAD} if p["in"] == "path" else fill
                    url = path.format(**{k: v.replace("\x00", "%00") for k, v in values.items()})
                    query = {p["name"]: BAD} if p["in"] == "query" else None
                    cases.append((f"{method.upper()} {path}", p["name"], p["in"],
                                  {"method": method, "url": url, "params": query, "headers": headers}))
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body is None:
                continue
            body = _schema(spec, body)
            for name, prop in body.get("properties", {}).items():
                if _takes_text(spec, prop):
                    cases.append((f"{method.upper()} {path}", name, "body",
                                  {"method": method, "url": path.format(**fill), "headers": headers,
                                   "json": {name: _bad_value(spec, prop)}}))
            if body.get("type") == "object" and not body.get("properties"):  # PUT /v1/events/{id}: an event
                cases.append((f"{method.upper()} {path}", "event_id", "body",
                              {"method": method, "url": path.format(**fill), "headers": headers,
                               "json": example("credit.inquiry", fill.get("event_id", "x"), order_ref=None)
                               | {"application_ref": BAD}}))
    return cases


def test_every_text_input_of_every_endpoint_refuses_control_characters(world: World) -> None:
    me = world.consumer_token(world.high())
    cases = _cases(world, me)
    assert len({c[0] for c in cases}) >= 20, "the OpenAPI document lists the endpoints that take text"
    failures = []
    for operation, field, where, request in cases:
        if operation == "POST /v1/events":  # answered per event: a batch with one bad event is not refused
            continue
        r = world.client.request(**request)
        error = r.json().get("error", {}) if r.headers.get("content-type", "").startswith("application/json") else {}
        expected_field = "application_ref" if operation == "PUT /v1/events/{event_id}" and where == "body" else field
        if (r.status_code, error.get("code"), error.get("rule")) != (422, CODE, RULE) \
                or not str(error.get("field", "")).startswith(expected_field):
            failures.append(f"{operation} {where} {field}: {r.status_code} {r.text[:160]}")
    assert not failures, "\n".join(failures)


def test_a_reported_event_with_a_control_character_is_refused_alone(world: World) -> None:
    cid = world.high()
    with world.engine.begin() as conn:
        from credo.registry import grant_report_consent
        grant_report_consent(conn, cid, "lender", ["credit.inquiry"])
    good = {k: v for k, v in example("credit.inquiry", "good-1", consumer_id=cid).items()}
    bad = {**good, "event_id": "bad-1", "application_ref": "q\x00-1"}
    strange_key = {**good, "event_id": "bad-2", "note\x07": "x"}
    r = world.client.post("/v1/events", headers=world.partner("lender"), json={"events": [good, bad, strange_key]})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["accepted", "rejected", "rejected"]
    assert [(e["code"], e["field"], e["rule"]) for x in results[1:] for e in x["errors"]] == [
        (CODE, "application_ref", RULE), (CODE, "note\x07", RULE)]


@pytest.mark.parametrize("text", ["\x00", "a\x1fb", "\x7f", "\x85", "\ud800", "ok\x9f"])
def test_the_rule_finds_each_control_character(text: str) -> None:
    assert control_character_at(text) is not None
    assert first_control_character({"outer": [{"inner": text}]})[0] == ("outer", 0, "inner")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_text_is_refused_exactly_when_it_holds_a_forbidden_character(text: str) -> None:
    forbidden = [i for i, c in enumerate(text)
                 if (ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF]
    assert control_character_at(text) == (forbidden[0] if forbidden else None)
    assert (first_control_character({"k": [text]}) is None) == (not forbidden)
