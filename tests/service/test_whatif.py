"""The what-if lists every input it accepts with the consumer's current value in human units, takes
changes in those units, and every read is in the consumer's access ledger."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from credo.events.types import currency_exponent
from credo.features import compute_features, events_from_store
from credo.features.definitions import FEATURE_NAMES
from credo.scoring import score_frame
from credo.service import scores as scoring
from credo.service.whatif import (
    DEBT_FEATURES,
    UNITS,
    display,
    major_to_minor,
    minor_to_major,
    to_human,
)
from credo.store.tables import access_ledger
from tests.service.support import NOW, World


def _features(world: World, cid: str) -> pd.Series:
    """The consumer's features from a fresh computation at the instant an online read at NOW uses."""
    return compute_features(events_from_store(world.engine, cid), scoring.online_as_of(NOW), consumers=[cid]).loc[cid]


def _with_money(world: World) -> str:
    """A scored consumer with credit payments and a credit limit (so both money inputs have amounts)."""
    feats = world_features(world)
    pick = feats[(feats["credit_payments_3m"] > 0) & (feats["total_credit_limit"] > 0) & feats["is_scorable"]]
    pick = pick[pick.index.isin(world.scored.index)]
    assert len(pick), "the simulated world has consumers with credit payments"
    return str(pick.index[0])


def world_features(world: World) -> pd.DataFrame:
    return compute_features(events_from_store(world.engine), scoring.online_as_of(NOW))


def _ledger(world: World, cid: str) -> list[str]:
    with world.engine.connect() as conn:
        return list(conn.execute(select(access_ledger.c.disclosed).where(access_ledger.c.consumer_ref == cid)
                                 .order_by(access_ledger.c.seq)).scalars())


def _same(listed: float | None, computed: Any) -> bool:
    if listed is None:
        return computed is None or (isinstance(computed, float) and math.isnan(computed))
    return float(listed) == pytest.approx(float(computed), rel=1e-12, abs=1e-12)


def test_every_published_feature_has_a_human_unit() -> None:
    assert set(UNITS) == set(FEATURE_NAMES)


def test_the_listing_shows_every_input_with_its_current_value_in_human_units(world: World) -> None:
    cid = _with_money(world)
    me = world.consumer_token(cid)
    seen = len(_ledger(world, cid))
    r = world.client.get("/v1/me/score/what-if", headers=me)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["estimate"] is True and "Estimate" in body["label"]
    assert _ledger(world, cid)[seen:] == ["what_if_inputs"]  # the read is in the consumer's ledger
    inputs = {i["name"]: i for i in body["inputs"]}
    refused = {i["name"]: i for i in body["refused"]}
    # every published feature is listed once; only a debt-like one with nothing to lower is refused
    assert not set(inputs) & set(refused) and set(inputs) | set(refused) == set(FEATURE_NAMES)
    model = world.svc.model_bundle().model(world.svc.settings.serving_model)
    assert set(model.features_) <= set(inputs) | set(refused)
    assert all(n in DEBT_FEATURES and not i["value"] and i["rule"] for n, i in refused.items())
    expected = _features(world, cid)
    for name, item in {**inputs, **refused}.items():
        assert _same(item["value"], expected[name]), name
        assert item["in_model"] == (name in model.features_)
    for name, item in inputs.items():
        value = item["value"]
        if value is None:
            assert item["current"] is None and item["display"] == "no data", name
        elif item["unit"] == "percent":
            assert item["current"] == pytest.approx(value * 100) and item["display"].endswith(" %"), name
        elif item["unit"] == "money":
            assert item["currency"] == "CNY"  # the simulated world reports in yuan (2 decimals)
            assert item["current"] == pytest.approx(value / 100) and item["display"].endswith(" CNY"), name
        else:
            assert item["current"] == value, name
        if name in DEBT_FEATURES:
            assert item["lower_only"] and item["max"] == item["current"] and item["min"] == 0, name
        elif item["unit"] == "percent" and name.endswith("_share_12m"):
            assert (item["min"], item["max"]) == (0, 100), name
    money = inputs["credit_payments_3m"]
    assert money["display"] == f"{Decimal(int(expected['credit_payments_3m'])).scaleb(-2):,.2f} CNY"


def _estimate(world: World, cid: str, model_changes: dict[str, float]) -> int | None:
    """The serving model's score on the consumer's features with changes in model units (shares, minor units)."""
    feats = compute_features(events_from_store(world.engine, cid), scoring.online_as_of(NOW), consumers=[cid])
    for name, value in model_changes.items():
        feats[name] = feats[name].astype(float)
        feats.loc[cid, name] = value
    row = score_frame(world.svc.model_bundle().model(world.svc.settings.serving_model), feats).iloc[0]
    return None if pd.isna(row["score"]) else int(row["score"])


def test_the_what_if_takes_the_units_it_lists(world: World) -> None:
    cid = _with_money(world)
    me = world.consumer_token(cid)
    current = {i["name"]: i for i in world.client.get("/v1/me/score/what-if", headers=me).json()["inputs"]}
    paid = round(current["credit_payments_3m"]["current"] + 123.45, 2)  # yuan, in major units
    changes = {"bills_on_time_share_12m": 100, "credit_payments_3m": paid}
    seen = len(_ledger(world, cid))
    r = world.client.post("/v1/me/score/what-if", headers=me, json={"changes": changes})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["estimate"] is True and "Estimate" in body["label"] and body["changes"] == changes
    assert _ledger(world, cid)[seen:] == ["what_if_estimate"]
    want = _estimate(world, cid, {"bills_on_time_share_12m": 1.0,
                                  "credit_payments_3m": major_to_minor(Decimal(str(paid)), "CNY")})
    assert body["estimated"]["score"] == want


@pytest.mark.parametrize(("changes", "message"), [
    ({"bills_on_time_share_12m": 100.5}, "outside 0 % to 100 %"),
    ({"late_payments_12m": 1.5}, "takes a whole number"),
    ({"credit_payments_3m": 10.001}, "CNY amounts have at most 2 decimal place(s)"),
    ({"income_band": 9}, "outside 1 to 5"),
    ({"late_payments_12m": None}, "cannot be empty"),
])
def test_a_change_outside_its_unit_gets_a_one_line_error_naming_it(world: World, changes: dict[str, Any],
                                                                  message: str) -> None:
    cid = _with_money(world)
    me = world.consumer_token(cid)
    r = world.client.post("/v1/me/score/what-if", headers=me, json={"changes": changes})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    name = next(iter(changes))
    assert error["code"] == "WHATIF_INVALID_CHANGE" and message in error["message"]
    assert error["field"] == f"changes.{name}" and "\n" not in error["message"]
    assert error["rule"]  # every rejection names the rule it broke


def test_a_debt_like_input_only_goes_down(world: World) -> None:
    cid = _with_money(world)
    me = world.consumer_token(cid)
    limit = next(i for i in world.client.get("/v1/me/score/what-if", headers=me).json()["inputs"]
                 if i["name"] == "total_credit_limit")
    up = world.client.post("/v1/me/score/what-if", headers=me,
                           json={"changes": {"total_credit_limit": limit["max"] + 1}})
    assert up.status_code == 422 and up.json()["error"]["code"] == "WHATIF_ADDS_DEBT"
    down = world.client.post("/v1/me/score/what-if", headers=me,
                             json={"changes": {"total_credit_limit": limit["max"] / 2}})
    assert down.status_code == 200, down.text


# ---------------------------------------------------------------- unit conversion


def test_money_in_major_units_for_a_two_and_a_zero_decimal_currency() -> None:
    assert minor_to_major(1234567, "CNY") == Decimal("12345.67")
    assert minor_to_major(1234567, "JPY") == Decimal("1234567")
    assert minor_to_major(1234567.0, "JPY") == Decimal("1234567")  # sums arrive as DOUBLE too
    assert major_to_minor(12345.67, "CNY") == 1234567
    assert major_to_minor(1234567, "JPY") == 1234567
    with pytest.raises(ValueError, match="JPY amounts have at most 0 decimal"):
        major_to_minor(12.5, "JPY")
    assert to_human("credit_payments_3m", 1234567, "CNY") == 12345.67
    assert to_human("credit_payments_3m", 1234567, "JPY") == 1234567
    assert display("credit_payments_3m", 1234567, "CNY") == "12,345.67 CNY"
    assert display("credit_payments_3m", 1234567, "JPY") == "1,234,567 JPY"
    assert display("total_credit_limit", 500000.0, None, {"CNY", "JPY"}).startswith("not shown")
    assert display("rent_on_time_share_12m", 0.8333, None) == "83.3 %"
    assert display("identity_level", 0, None) == "none" and display("income_band", 5, None) == "20k plus"


@given(st.integers(min_value=0, max_value=10**15), st.sampled_from(["CNY", "JPY", "USD", "KWD", "CLF"]))
def test_minor_to_major_and_back_is_exact(minor: int, currency: str) -> None:
    major = minor_to_major(minor, currency)
    assert major_to_minor(major, currency) == minor
    assert major == Decimal(minor) / Decimal(10) ** currency_exponent(currency)
