"""Decide, column by column, what feeds the model: the rules of :mod:`credo.policy.columns`.

Every column is read (:func:`credo.tabular.parse.infer_column`), described
(type, missing share, distinct values) and checked against the rules: its name
and raw values (protected traits, geography), whether it is an identifier,
text with too many values, or constant. A column any rule catches is left out,
unless the trainer allows it by name with a reason; ``--exclude`` leaves
columns out without a rule; ``--audit`` keeps protected attributes out as audit-only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from credo.policy import columns as policy
from credo.tabular.errors import TableError
from credo.tabular.parse import NUMERIC, ParsedColumn, clean_text, infer_column, is_text
from credo.tabular.plan import ColumnPlan, TablePlan
from credo.tabular.target import bad_labels

#: Value patterns are checked on the most common values only (free text can hold millions).
_VALUE_SAMPLE_LEVELS = 5000


def _names(names: Iterable[str]) -> str:
    return ", ".join(names)


def _value_rule(series: pd.Series) -> policy.ColumnRule | None:
    if not is_text(series):
        return None
    counts = clean_text(series).value_counts()
    total = int(counts.sum())
    return policy.rule_for_values(counts.head(_VALUE_SAMPLE_LEVELS).to_dict(), total)


def _is_identifier(name: str, parsed: ParsedColumn, rows: int) -> bool:
    """Unique per row: text keys (one word each: free text is not a key); integers that count up
    or whose name says id."""
    values = parsed.values.dropna()
    if rows < policy.IDENTIFIER_MIN_ROWS or values.nunique() < policy.IDENTIFIER_UNIQUE_SHARE * rows:
        return False
    if parsed.type != NUMERIC:
        return not values.astype(str).str.contains(r"\s").any()
    numbers = values.to_numpy(dtype=np.float64)
    if not np.all(numbers == np.floor(numbers)):
        return False
    counts_up = numbers.max() - numbers.min() + 1 <= len(numbers) / policy.IDENTIFIER_UNIQUE_SHARE
    return bool(counts_up or policy.names_an_identifier(name))


def column_rules(name: str, series: pd.Series, parsed: ParsedColumn) -> list[policy.ColumnRule]:
    """Every rule that leaves the column out, most serious first (protected traits, then data shape)."""
    found: list[policy.ColumnRule] = []
    for rule in (policy.rule_for_name(name), _value_rule(series)):
        if rule is not None and rule not in found:
            found.append(rule)
    levels = parsed.values.nunique()
    if _is_identifier(name, parsed, len(series)):
        found.append(policy.IDENTIFIER)
    elif parsed.type != NUMERIC and levels > policy.MAX_TEXT_LEVELS:
        found.append(policy.TEXT_LEVELS)
    if levels <= 1:
        found.append(policy.CONSTANT)
    return found


def _check_options(columns: Sequence[str], target: str, exclude: Sequence[str], allowed: Mapping[str, str],
                   audit: Sequence[str] = ()) -> None:
    shown = _names(columns[:30]) + (", …" if len(columns) > 30 else "")
    if target not in columns:
        raise TableError(f"target column {target!r} is not in the data (columns: {shown})")
    for option, names in (("--exclude", exclude), ("--allow-column", list(allowed)), ("--audit", audit)):
        unknown = [n for n in names if n not in columns]
        if unknown:
            raise TableError(f"{option}: no column {_names(map(repr, unknown))} in the data (columns: {shown})")
        if target in names:
            raise TableError(f"{option}: {target!r} is the target, not an input")
    both = sorted(set(exclude) & set(allowed))
    if both:
        raise TableError(f"{_names(both)}: both excluded and allowed; choose one")
    audited = sorted(set(audit) & set(allowed))
    if audited:
        raise TableError(f"{_names(audited)}: an audit-only column is never an input; it cannot be allowed")
    blank = [n for n, because in allowed.items() if not (because or "").strip()]
    if blank:
        raise TableError(f"--allow-column {_names(blank)}: give the reason with --because")


def plan_table(
    frame: pd.DataFrame,
    target: str,
    *,
    bad_value: Any = None,
    exclude: Sequence[str] = (),
    allowed: Mapping[str, str] | None = None,
    source: str = "table",
    audit: Sequence[str] = (),
) -> TablePlan:
    """Read every column, apply the column rules and the trainer's options; validate the target.

    Raises :class:`TableError` for an unknown column in the options, a target
    that does not give two classes, or an allowed column no rule leaves out.
    A plan may leave no input at all; training refuses it (after the report is shown).
    """
    allowed = dict(allowed or {})
    columns = [str(c) for c in frame.columns]
    _check_options(columns, target, exclude, allowed, audit)
    bad_labels(frame[target], target, bad_value)  # refuse a target that cannot train before reading the rest
    plans = []
    for name in columns:
        series = frame[name]
        parsed = infer_column(series)
        levels = int(parsed.values.nunique())
        kind = parsed.type if parsed.type == NUMERIC or levels <= policy.MAX_TEXT_LEVELS else "text"
        common = dict(name=name, type=kind, parsed_as=parsed.parsed_as, levels=levels,
                      missing_share=round(float(parsed.values.isna().mean()), 4))
        if name == target:
            plans.append(ColumnPlan(**common, decision="target"))
            continue
        if name in audit:
            plans.append(ColumnPlan(**common, decision="excluded", rule=policy.AUDIT_ONLY.id))
            continue
        if name in exclude:
            plans.append(ColumnPlan(**common, decision="excluded", rule=policy.EXCLUDED.id))
            continue
        rules = column_rules(name, series, parsed)
        if name in allowed:
            if not rules:
                raise TableError(f"--allow-column {name!r}: no rule leaves it out, so there is nothing to allow")
            plans.append(ColumnPlan(**common, decision="input", rule=rules[0].id, because=allowed[name].strip()))
        elif rules:
            plans.append(ColumnPlan(**common, decision="excluded", rule=rules[0].id))
        else:
            plans.append(ColumnPlan(**common, decision="input"))
    return TablePlan(source=source, target=target, bad_value=None if bad_value is None else str(bad_value).strip(),
                     columns=plans)


__all__ = ["column_rules", "plan_table"]
