"""Merchant categories that reveal special-category data are refused, over the whole ISO 18245 list."""

from __future__ import annotations

import re

import iso18245
import orjson
import pytest
from sqlalchemy import Engine, func, select

from credo.errors import ErrorCode
from credo.ingest.service import ingest_records
from credo.ingest.validation import validate_record
from credo.policy.merchant_categories import SENSITIVE_MERCHANT_GROUPS, sensitive_group
from credo.policy.protection import FORBIDDEN_BY_CODE
from credo.store import events
from tests.factories import example, populate

ALL = iso18245.get_all_mccs()

#: Words in any of the list's descriptions (ISO, USDA, Visa, Mastercard, Amex) that name something PRODUCT.md §3
#: refuses to hold; every code described so must be in a sensitive group.
SENSITIVE_WORDS = re.compile(
    r"\b(relig\w*|church\w*|politic\w*|hospitals?|doctors?|physicians?|dentists?|dental|medical|pharmac\w*|"
    r"drug ?stores?|drugs|nursing|chiropract\w*|osteopath\w*|optometr\w*|ophthalm\w*|podiatr\w*|"
    r"counsel+ing|dating|escort|massage|court|bail|fines|alimony|attorneys?|legal services|child care|"
    r"unions?|charitable|hearing aids?|orthop\w*|prosthe\w*|ambulance|health practitioners)\b", re.I)
#: Described with one of the words above, yet revealing nothing of §3 (each with why).
NOT_SENSITIVE = {
    "7298": "health and beauty spas: a beauty service",
    "8734": "testing laboratories (non-medical)",
    "7322": "debt collection agencies: financial behaviour",
    "3027": "an airline (Union de Transports Aeriens)",
}


def _descriptions(mcc: iso18245.MCC) -> str:
    return " | ".join(filter(None, (mcc.iso_description, mcc.usda_description, mcc.visa_description,
                                    mcc.mastercard_description, mcc.amex_description, mcc.stripe_description)))


def _order(code: str) -> dict[str, object]:
    return example("order.placed", event_id=f"o-{code}", partner_id="p-all", merchant_category=code)


def test_every_iso_18245_code_is_either_accepted_or_refused_by_its_group() -> None:
    refused = 0
    for mcc in ALL:
        group = sensitive_group(mcc.mcc)
        result = validate_record(_order(mcc.mcc), partner_id=None, trusted_received_at=True)
        if group is None:
            assert not isinstance(result, list), (mcc.mcc, result)
            continue
        refused += 1
        assert isinstance(result, list) and len(result) == 1, (mcc.mcc, result)
        problem = result[0]
        assert (problem.code, problem.field, problem.rule) == (
            ErrorCode.FORBIDDEN_CATEGORY, "merchant_category", group.rule), mcc.mcc
        assert group.name in problem.message
    assert refused == sum(1 for m in ALL if sensitive_group(m.mcc))
    assert 25 <= refused <= 60  # the medical range alone is a dozen codes


def test_every_code_described_as_sensitive_is_in_a_group() -> None:
    missing = {m.mcc: _descriptions(m) for m in ALL
               if SENSITIVE_WORDS.search(_descriptions(m)) and not sensitive_group(m.mcc)
               and m.mcc not in NOT_SENSITIVE}
    assert missing == {}


def test_every_code_of_a_sensitive_range_is_covered_and_every_range_is_real() -> None:
    codes = {m.mcc for m in ALL}
    for group in SENSITIVE_MERCHANT_GROUPS:
        assert group.category is not None and group.category.code in FORBIDDEN_BY_CODE, group.rule
        for first, last in group.ranges:
            assert re.fullmatch(r"[0-9]{4}", first) and re.fullmatch(r"[0-9]{4}", last) and first <= last
            inside = [c for c in codes if first <= c <= last]
            assert first in codes and last in codes, (group.rule, first, last)  # no typo'd endpoint
            assert all(sensitive_group(c) is group for c in inside), (group.rule, inside)
    rules = [g.rule for g in SENSITIVE_MERCHANT_GROUPS]
    assert len(rules) == len(set(rules))


@pytest.mark.parametrize(("code", "reveals"), [
    ("8661", "FC03"), ("5973", "FC03"),  # religious organisations and goods
    ("8651", "FC01"),  # political organisations
    ("8699", "FC11"),  # membership organisations (trade unions)
    ("8062", "FC09"), ("8011", "FC09"), ("5912", "FC09"), ("8099", "FC09"),  # hospitals, doctors, pharmacies
    ("7273", "FC07"),  # dating and escort services
    ("9211", "FC08"), ("9222", "FC08"), ("9223", "FC08"),  # courts (alimony), fines, bail
    ("8351", "FC08"),  # child care
])
def test_the_named_categories_are_covered(code: str, reveals: str) -> None:
    group = sensitive_group(code)
    assert group is not None and group.reveals == reveals


def test_an_order_with_a_sensitive_code_stores_nothing_and_one_without_the_field_is_stored(engine: Engine) -> None:
    populate(engine)
    outcomes = ingest_records(engine, [_order("8661"), _order("5411"),
                                       {**_order("8062"), "event_id": "o-no-mcc", "merchant_category": None}],
                              trusted_received_at=True)
    assert [o.status for o in outcomes] == ["rejected", "accepted", "accepted"]
    assert outcomes[0].problems[0].rule == "SMC01"
    with engine.connect() as conn:
        stored = dict(conn.execute(select(events.c.event_id, events.c.payload)).all())
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 2
    assert set(stored) == {"o-5411", "o-no-mcc"}
    # the codes as values anywhere in what is stored (a bare substring also matches digits of a timestamp)
    stored_values = {str(v) for payload in stored.values() for v in orjson.loads(payload).values()}
    assert not stored_values & {"8661", "8062"}
