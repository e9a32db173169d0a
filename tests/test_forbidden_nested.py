"""A forbidden category inside a nested value is refused naming its rule and path, never as a mere
unknown field (issue 11, finding 12)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from credo.errors import ErrorCode
from credo.ingest.validation import validate_record
from credo.policy.protection import FORBIDDEN_CATEGORIES
from tests.factories import example

TERMS = [(c.code, t) for c in FORBIDDEN_CATEGORIES for t in c.terms]
CLEAN_KEYS = st.sampled_from(["meta", "extra", "details", "info", "attrs"])


def _validate(record: dict[str, Any]) -> Any:
    return validate_record(record, partner_id=None, trusted_received_at=True)


@given(term=st.sampled_from(TERMS), outer=CLEAN_KEYS, depth=st.integers(0, 4), as_key=st.booleans(),
       field=st.sampled_from([None, "order_ref", "amount"]))
def test_a_forbidden_term_at_any_depth_names_its_rule_and_path(term: tuple[str, str], outer: str, depth: int,
                                                              as_key: bool, field: str | None) -> None:
    code, word = term
    leaf: Any = {word: "x"} if as_key else ["fine", f"customer {word}"]
    path = [word] if as_key else ["1"]
    for level in range(depth):
        leaf = {f"level{level}": leaf}
        path.insert(0, f"level{level}")
    name = field or outer
    problems = _validate({**example("order.placed", partner_id="p-1"), name: {"nested": leaf}})
    assert isinstance(problems, list)
    first = problems[0]
    assert (first.code, first.rule) == (ErrorCode.FORBIDDEN_CATEGORY, code)
    assert first.field == ".".join([name, "nested", *path])


def test_a_clean_nested_value_is_still_an_unknown_field() -> None:
    problems = _validate({**example("order.placed", partner_id="p-1"), "meta": {"colour": ["red", "blue"]}})
    assert [(p.code, p.field) for p in problems] == [(ErrorCode.UNKNOWN_FIELD, "meta")]
