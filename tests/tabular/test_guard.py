"""Which columns feed a model: the column rules, the trainer's options and the target."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credo.policy import columns as policy
from credo.tabular import TableError, plan_table
from credo.tabular.target import bad_labels


@pytest.mark.parametrize(("name", "rule"), [
    ("zip_code", "geography"), ("ZipCode", "geography"), ("addr_state", "geography"), ("Postcode", "geography"),
    ("region", "geography"), ("home_address", "geography"), ("city", "geography"), ("county", "geography"),
    ("age", "age"), ("AGE", "age"), ("applicantAge", "age"), ("date_of_birth", "age"), ("DOB", "age"),
    ("SEX", "forbidden-fc06"), ("gender", "forbidden-fc06"), ("marital_status", "forbidden-fc08"),
    ("MaritalStatus", "forbidden-fc08"), ("nationality", "forbidden-fc05"), ("citizenship", "forbidden-fc05"),
    ("race", "forbidden-fc04"), ("ethnicity", "forbidden-fc04"), ("religion", "forbidden-fc03"),
])
def test_names_of_protected_traits_and_geography(name: str, rule: str) -> None:
    assert policy.rule_for_name(name).id == rule


@pytest.mark.parametrize("name", ["int_rate", "annual_inc", "account_age", "credit_age_months", "mortgage_acc",
                                  "essex_branch", "loan_status", "home_ownership", "statement_balance", "c9"])
def test_ordinary_names_pass(name: str) -> None:
    assert policy.rule_for_name(name) is None


def test_values_that_look_like_zip_codes_states_or_sex() -> None:
    assert policy.rule_for_values({"123xx": 5, "456xx": 3}) is policy.GEOGRAPHY
    assert policy.rule_for_values({"02134": 5, "94110": 3}) is policy.GEOGRAPHY
    assert policy.rule_for_values({"52000": 5, "61000": 3}) is None  # five-digit amounts are not zip codes
    assert policy.rule_for_values({s: 2 for s in ["CA", "NY", "TX", "FL", "WA"]}) is policy.GEOGRAPHY
    assert policy.rule_for_values({"OK": 9, "NO": 3}) is None
    assert policy.rule_for_values({"male": 5, "female": 3}).id == "forbidden-fc06"
    assert policy.rule_for_values({"M": 5, "F": 3}).id == "forbidden-fc06"
    assert policy.rule_for_values({"married": 5, "single": 3, "divorced": 2}).id == "forbidden-fc08"
    assert policy.rule_for_values({"car": 50, "medical": 3, "house": 40}) is None  # a few health words: no


def test_every_rule_has_a_stable_unique_id_and_a_sentence() -> None:
    ids = [r.id for r in policy.RULES]
    assert len(ids) == len(set(ids)) and all(r.text.endswith(".") for r in policy.RULES)
    assert policy.rule("geography") is policy.GEOGRAPHY


def _frame(rows: int = 60, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "row_id": np.arange(1, rows + 1).astype(str),
        "customer": [f"C{i:05d}" for i in rng.permutation(rows)],
        "income": rng.integers(20_000, 90_000, rows).astype(str),
        "city_name": [f"town{i % 55}" for i in range(rows)],
        "notes": [f"free text {i}" for i in rng.integers(0, 1000, rows)],
        "grade": rng.choice(list("ABCDE"), rows),
        "flat": ["same"] * rows,
        "bad": (rng.random(rows) < 0.3).astype(int).astype(str),
    })


def test_the_plan_names_each_left_out_column_and_its_rule() -> None:
    plan = plan_table(_frame(), "bad")
    decisions = {c.name: (c.decision, c.rule) for c in plan.columns}
    assert decisions == {
        "row_id": ("excluded", "identifier"), "customer": ("excluded", "identifier"), "income": ("input", None),
        "city_name": ("excluded", "geography"), "notes": ("excluded", "text-levels"), "grade": ("input", None),
        "flat": ("excluded", "constant"), "bad": ("target", None),
    }
    assert {c.name: c.type for c in plan.columns}["notes"] == "text"
    assert plan.categorical == ["grade"] and plan.input_names == ["income", "grade"]


def test_allowing_a_column_records_the_rule_and_the_reason() -> None:
    plan = plan_table(_frame(), "bad", allowed={"city_name": "branch city, audited for disparate impact"},
                      exclude=["grade"])
    city = next(c for c in plan.columns if c.name == "city_name")
    assert (city.decision, city.rule, city.because) == ("input", "geography", "branch city, audited for disparate impact")
    assert plan.allowed_exceptions == [{"column": "city_name", "rule": "geography",
                                        "because": "branch city, audited for disparate impact"}]
    assert next(c for c in plan.columns if c.name == "grade").rule == "excluded"


@pytest.mark.parametrize(("options", "problem"), [
    (dict(target="nope"), "target column 'nope' is not in the data"),
    (dict(exclude=["nope"]), "--exclude: no column 'nope'"),
    (dict(allowed={"nope": "x"}), "--allow-column: no column 'nope'"),
    (dict(allowed={"income": "x"}), "no rule leaves it out"),
    (dict(allowed={"city_name": " "}), "give the reason with --because"),
    (dict(allowed={"city_name": "x"}, exclude=["city_name"]), "both excluded and allowed"),
    (dict(exclude=["bad"]), "is the target"),
])
def test_bad_options_are_named(options: dict, problem: str) -> None:
    options = {"target": "bad", **options}
    with pytest.raises(TableError, match=problem):
        plan_table(_frame(), options.pop("target"), **options)


@pytest.mark.parametrize(("values", "bad_value", "problem"), [
    (["Fully Paid", "Charged Off"] * 5, None, "holds 'Charged Off' and 'Fully Paid', not 0/1"),
    (["1"] * 10, None, "constant"),
    (["x"] * 10, "x", "constant: every row is bad"),
    (["a", "b", "c"] * 4, None, "say which value is bad"),
    (["1", "2"] * 5, "3", "--bad-value '3' does not occur"),
    (["", "NA"] * 5, None, "has no values"),
    (["0"] * 9 + ["1"], None, "too few"),
])
def test_targets_that_cannot_train(values: list[str], bad_value: str | None, problem: str) -> None:
    with pytest.raises(TableError, match=problem):
        bad_labels(pd.Series(values), "y", bad_value)


def test_bad_value_matches_text_and_numbers() -> None:
    labels = bad_labels(pd.Series([" Charged Off", "Fully Paid", "", "Charged Off", "Fully Paid "]), "s",
                        "Charged Off")
    assert labels.iloc[[0, 1, 3, 4]].tolist() == [1.0, 0.0, 1.0, 0.0] and np.isnan(labels.iloc[2])
    assert bad_labels(pd.Series([1, 2, 2, 1]), "c21", "2").tolist() == [0.0, 1.0, 1.0, 0.0]
    assert bad_labels(pd.Series(["1.0", "2", "2.0", "1"]), "c21", 2).tolist() == [0.0, 1.0, 1.0, 0.0]


@settings(deadline=None)  # Arrow calls: timings vary on a busy machine
@given(st.lists(st.sampled_from(["good", "bad", "late", ""]), min_size=4, max_size=60))
def test_labels_are_one_exactly_where_the_bad_value_is(values: list[str]) -> None:
    series = pd.Series(values)
    try:
        labels = bad_labels(series, "y", "bad")
    except TableError:
        return  # too few of a class: refused, checked above
    assert (labels == 1).tolist() == [v == "bad" for v in values]
    assert labels.isna().tolist() == [v == "" for v in values]
