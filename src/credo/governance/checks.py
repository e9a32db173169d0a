"""The publication gate's rules, one function each (:data:`credo.policy.governance.GATE_RULES`).

Each check takes the model that would serve (the bundle's champion or challenger, as
``CREDO_SERVING_MODEL`` says) and the candidate's registered out-of-time validation rows, and returns a
:class:`RuleResult`: passed or not, one line saying what was found, and the numbers behind it (recorded in
the operator log). The checks are model-agnostic where they can be: they move inputs and re-score, so
they judge what the model does, not what it says about itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]

from credo.fairness.metrics import adverse_impact, judged
from credo.features.definitions import FEATURES_BY_NAME
from credo.model import MonotoneChallenger, Scorecard
from credo.model.metrics import auc_score, psi
from credo.policy import governance as rules
from credo.policy.bands import SCORE_MAX
from credo.policy.columns import normalise_name, rule_for_name
from credo.policy.reasons import MIN_REASON_POINTS, ReasonRule

Model = Scorecard | MonotoneChallenger


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    summary: str
    detail: dict[str, Any] = field(default_factory=dict)
    #: The operator's recorded justification or decision that let a failed check pass.
    override: str | None = None

    def record(self) -> dict[str, Any]:
        return {"rule": self.rule, "passed": self.passed, "summary": self.summary, "detail": self.detail,
                "override": self.override}


def _sample(frame: pd.DataFrame, rows: int, seed: int = 0) -> pd.DataFrame:
    if len(frame) <= rows:
        return frame
    keep = np.sort(np.random.default_rng(seed).choice(len(frame), rows, replace=False))
    return frame.iloc[keep]


def _raw(model: Model, X: pd.DataFrame) -> np.ndarray:
    return model.score(X, clamp=False).to_numpy(dtype=float)


def _numeric(model: Model, f: str) -> bool:
    return f not in set(model.categorical_features or ())


def declared_directions(model: Model) -> dict[str, int]:
    """Each input's risk direction (+1: risk rises with the value, -1 falls, 0 free) as the model's
    policy declares it: the feature definitions for the store's features, else what the model fixed at
    training (the scorecard's binning trend, the challenger's constraint)."""
    out = {}
    for f in model.features_:
        if f in FEATURES_BY_NAME:
            out[f] = FEATURES_BY_NAME[f].monotone
        elif not _numeric(model, f):
            out[f] = 0
        elif isinstance(model, MonotoneChallenger):
            out[f] = int(model.directions_.get(f, 0))
        else:
            declared = (model.monotone_constraints or {}).get(f)
            if declared in (1, -1):
                out[f] = int(declared)
            else:
                trend = model.binnings_[f].trend
                out[f] = {"ascending": 1, "descending": -1}.get(str(trend), 0)
    return out


def _own_directions(model: Model) -> dict[str, int]:
    """The directions the fitted model itself enforces."""
    if isinstance(model, MonotoneChallenger):
        return {f: int(d) for f, d in model.directions_.items()}
    declared = dict(model.monotone_constraints or {})
    return {f: int(declared[f]) for f in model.features_ if declared.get(f) in (1, -1)}


def _specials(model: Model, f: str) -> list[float]:
    """The special values of input ``f`` (each a bin or column of its own), from the model's parameters."""
    special = model.special_values
    if special is None or not _numeric(model, f):
        return []
    values = special.get(f, []) if isinstance(special, Mapping) else special
    return [float(v) for v in values]


def value_grid(model: Model, f: str, values: pd.Series, *, extremes: bool = False) -> list[Any]:
    """Values to move input ``f`` over: one inside each regular bin of a scorecard's numeric input
    (exact: every bin is visited), else the values' quantiles; with ``extremes``, also each special
    value and a missing value (a scorecard's every bin)."""
    grid: list[Any]
    if isinstance(model, Scorecard) and _numeric(model, f) and model.binnings_[f].dtype == "numerical":
        splits = np.asarray(model.binnings_[f].splits, dtype=float)
        if splits.size:
            inner = (splits[:-1] + splits[1:]) / 2 if splits.size > 1 else np.array([])
            grid = [float(splits[0]) - 1.0, *inner.tolist(), float(splits[-1])]
        else:
            present = pd.to_numeric(values, errors="coerce").dropna()
            grid = [float(present.iloc[0])] if len(present) else [0.0]
    elif _numeric(model, f):
        present = pd.to_numeric(values, errors="coerce").dropna()
        present = present[~present.isin(_specials(model, f))]
        grid = sorted(set(np.quantile(present, np.linspace(0, 1, 21)).tolist())) if len(present) else [0.0]
    else:
        grid = sorted({str(v) for v in values.dropna()})
    if extremes:
        grid = [*grid, *_specials(model, f), np.nan]
    return grid


def _moved_scores(model: Model, X: pd.DataFrame, f: str, grid: Sequence[Any]) -> np.ndarray:
    """(rows, len(grid)) raw scores with input ``f`` set to each grid value."""
    n, g = len(X), len(grid)
    big = X.loc[X.index.repeat(g)].reset_index(drop=True)
    column = np.tile(np.array(grid, dtype=object), n)
    big[f] = pd.to_numeric(pd.Series(column), errors="coerce") if _numeric(model, f) else column
    return _raw(model, big).reshape(n, g)


def check_monotone(model: Model, evaluation: pd.DataFrame) -> RuleResult:
    """Every input with a declared direction moves the score only that way (swept over its value grid on
    a sample of rows), and the model enforces the declared direction itself."""
    X = _sample(evaluation[list(model.features_)], rules.MONOTONE_CHECK_ROWS)
    declared = declared_directions(model)
    own = _own_directions(model)
    wrong_declaration = sorted(f for f, d in declared.items()
                               if d != 0 and f in FEATURES_BY_NAME and own.get(f, d) != d)
    violations: dict[str, str] = {}
    for f, d in declared.items():
        if d == 0:
            continue
        grid = value_grid(model, f, evaluation[f])
        if len(grid) < 2:
            continue
        moved = _moved_scores(model, X, f, grid)
        steps = np.diff(moved, axis=1) * d  # risk rises with the value (d = +1): the score must not rise
        bad = np.argwhere(steps > 0)
        if bad.size:
            r, j = bad[0]
            violations[f] = (f"raising it from {grid[j]:g} to {grid[j + 1]:g} moves a score from "
                             f"{moved[r, j]:.0f} to {moved[r, j + 1]:.0f} against its declared direction")
    failed = sorted(set(violations) | set(wrong_declaration))
    detail = {"checked_inputs": sum(1 for d in declared.values() if d != 0), "rows": len(X),
              "violations": violations, "declared_otherwise": wrong_declaration}
    if failed:
        return RuleResult(rules.MONOTONE.id, False, f"not monotone as declared: {', '.join(failed)}", detail)
    return RuleResult(rules.MONOTONE.id, True,
                      f"{detail['checked_inputs']} inputs move the score only in their declared direction", detail)


def _truth_rules(model: Model, f: str) -> tuple[list[ReasonRule], str | None]:
    """When the statements of input ``f`` are true: the feature definitions' rules for the store's
    features (the policy, not the model's copy of it), else the model's own."""
    if f in FEATURES_BY_NAME:
        feature = FEATURES_BY_NAME[f]
        return list(feature.rules), feature.missing_reason
    entry = model.reason_rules_of(f)
    return [ReasonRule.from_list(r) for r in entry["rules"]], entry.get("missing")


def true_statements(model: Model, X: pd.DataFrame) -> np.ndarray:
    """(rows, inputs) object array: the reason code whose statement is true for each row's value of each
    input (the value as the model reads it), None where none is."""
    fills = {f: v for f, v in (getattr(model, "null_values", None) or {}).items() if f in X.columns}
    seen = X.fillna(fills) if fills else X
    out = np.full(X.shape, None, dtype=object)
    for j, f in enumerate(model.features_):
        statements, missing = _truth_rules(model, f)
        column = seen[f]
        absent = column.isna().to_numpy()
        if missing:
            out[absent, j] = missing
        free = ~absent
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float) if _numeric(model, f) else None
        for statement in statements:
            if statement.op == "any":
                hit = free.copy()
            elif values is None:
                continue
            else:
                hit = free & statement.holds(values)
            out[hit, j] = statement.code
            free &= ~hit
    return out


def check_reasons(model: Model, evaluation: pd.DataFrame) -> RuleResult:
    """On a sample of rows (PRODUCT.md §2): every principal reason is true for the consumer, none is given at
    the top of the range, and the top reason is faithful: its input, moved alone to its best value, raises
    the score at least as much as moving any other input whose statement is true. (How many reasons would
    gain fewer than the minimum points if their input were moved alone is reported, not judged: a
    challenger's reasons are its TreeSHAP attributions, which share interactions out.)"""
    X = _sample(evaluation[list(model.features_)], rules.REASON_CHECK_ROWS).reset_index(drop=True)
    given = model.reasons(X)
    shown = model.score(X).to_numpy()
    base = _raw(model, X)
    truth = true_statements(model, X)
    gains = np.zeros(truth.shape)
    for j, f in enumerate(model.features_):
        moved = _moved_scores(model, X, f, value_grid(model, f, evaluation[f], extremes=True))
        gains[:, j] = np.nanmax(moved, axis=1) - base
    tol = rules.POINT_TOLERANCE
    false, small, at_top, unfaithful = [], [], [], []
    n_given = 0
    for r in range(len(X)):
        codes = [c for c in given.iloc[r].tolist() if c is not None]
        n_given += len(codes)
        if codes and shown[r] >= SCORE_MAX:
            at_top.append(r)
        for k, code in enumerate(codes):
            holders = [j for j in range(truth.shape[1]) if truth[r, j] == code]
            if not holders:
                false.append((r, code))
                continue
            gain = max(gains[r, j] for j in holders)
            if gain < MIN_REASON_POINTS - tol:
                small.append((r, code, round(float(gain), 1)))
            if k == 0:
                rival = max((gains[r, j] for j in range(truth.shape[1]) if truth[r, j] is not None), default=0.0)
                if gain < rival - tol:
                    unfaithful.append((r, code, round(float(gain), 1), round(float(rival), 1)))
    detail = {"rows": len(X), "reasons_given": n_given, "false": len(false), "at_top_of_range": len(at_top),
              "top_reason_not_faithful": len(unfaithful), "gain_under_minimum_when_moved_alone": len(small),
              "examples": {"false": [list(map(str, e)) for e in false[:3]],
                           "top_reason_not_faithful": [list(map(str, e)) for e in unfaithful[:3]]}}
    problems = [f"{len(false)} false" if false else "", f"{len(at_top)} rows at {SCORE_MAX} with reasons"
                if at_top else "", f"{len(unfaithful)} rows whose top reason is not the largest gain" if unfaithful
                else ""]
    problems = [p for p in problems if p]
    if problems:
        return RuleResult(rules.REASONS.id, False, "reasons: " + "; ".join(problems), detail)
    return RuleResult(rules.REASONS.id, True, f"{n_given} reasons on {len(X)} rows: all true, none at {SCORE_MAX}, "
                      "every top reason faithful", detail)


def _separation(values: pd.Series, member: np.ndarray) -> float:
    """AUC of one input alone separating members from the rest, either direction (0.5 = none)."""
    if member.all() or not member.any():
        return 0.5
    if pd.api.types.is_numeric_dtype(values):
        v = values.to_numpy(dtype=float)
        missing = np.isnan(v)
        if missing.all():
            return 0.5
        v = np.where(missing, np.nanmin(v) - 1, v)  # "no value" as a value of its own, below the rest
    else:  # a category: its share of members (in-sample, so an upper bound of what it reveals)
        text = values.astype(str)
        v = text.map(pd.Series(member, index=values.index).groupby(text).mean()).to_numpy(dtype=float)
    a = float(roc_auc_score(member.astype(int), v))
    return max(a, 1 - a)


def check_inputs(model: Model, evaluation: pd.DataFrame, audit: pd.DataFrame, audit_names: Sequence[str],
                 audit_sources: Sequence[str] = (), *, store: bool = True) -> RuleResult:
    """No input is named as a protected trait, forbidden category or geography, is an audit attribute (or
    the source column of one), is outside the declared features (a model that serves the store), or is
    a proxy of a group of a prohibited basis (:data:`~credo.policy.governance.PROXY_SCREENED`)."""
    why: dict[str, list[str]] = {}
    audit_like = {normalise_name(n) for n in (*audit_names, *audit_sources)}
    for f in model.features_:
        rule = rule_for_name(f)
        if rule is not None:
            why.setdefault(f, []).append(f"named like a column of rule {rule.id}")
        if normalise_name(f) in audit_like:
            why.setdefault(f, []).append("an audit-only attribute")
        if store and f not in FEATURES_BY_NAME:
            why.setdefault(f, []).append("not a declared feature (credo.features.definitions)")
    joined = evaluation.join(audit, on="subject_id", how="inner") if len(audit.columns) else evaluation.iloc[:0]
    proxies: dict[str, tuple[str, float]] = {}
    for attribute in [a for a in audit.columns if a in rules.PROXY_SCREENED]:
        column = joined[attribute]
        for group, n in column.value_counts().items():
            if not judged(str(group), int(n)) or len(column) - n < rules.MIN_GROUP_SIZE:
                continue
            member = (column == group).to_numpy()
            for f in model.features_:
                auc = _separation(joined[f], member)
                if auc >= rules.PROXY_AUC_LIMIT and auc > proxies.get(f, ("", 0.0))[1]:
                    proxies[f] = (f"{attribute}={group}", auc)
    for f, (group, auc) in proxies.items():
        why.setdefault(f, []).append(f"a proxy of {group} (AUC {auc:.3f} alone)")
    refused = {f: "; ".join(reasons) for f, reasons in why.items()}
    detail = {"inputs": len(model.features_), "audit_rows": len(joined), "refused": refused,
              "proxy_auc_limit": rules.PROXY_AUC_LIMIT}
    if refused:
        return RuleResult(rules.INPUTS.id, False, "inputs refused: " + "; ".join(
            f"{f} ({why})" for f, why in sorted(refused.items())), detail)
    screened = sorted(set(audit.columns) & rules.PROXY_SCREENED)
    return RuleResult(rules.INPUTS.id, True, f"{len(model.features_)} inputs: none forbidden or audit-only, none a "
                      f"proxy of {', '.join(screened) or 'any screened attribute'} ({len(joined):,} rows)", detail)


def _scores(model: Model, evaluation: pd.DataFrame) -> np.ndarray:
    return model.score(evaluation[list(model.features_)]).to_numpy()


def _comparable(serving: Model, evaluation: pd.DataFrame) -> list[str]:
    return [f for f in serving.features_ if f not in evaluation.columns]


def check_auc(model: Model, serving: Model | None, evaluation: pd.DataFrame) -> RuleResult:
    """The candidate's shipped-score AUC on its out-of-time rows, beside the serving model's on the same rows."""
    bad = evaluation["bad"].to_numpy()
    mine = auc_score(bad, _scores(model, evaluation))
    if serving is None:
        return RuleResult(rules.AUC.id, True, f"AUC {mine:.4f}; no serving model to compare with",
                          {"candidate_auc": mine, "rows": len(bad)})
    missing = _comparable(serving, evaluation)
    if missing:
        return RuleResult(rules.AUC.id, False, f"the serving model needs inputs the candidate's rows lack: "
                          f"{', '.join(missing)}; they cannot be compared on the same data", {"missing": missing})
    theirs = auc_score(bad, _scores(serving, evaluation))
    detail = {"candidate_auc": mine, "serving_auc": theirs, "difference": mine - theirs, "margin": rules.AUC_MARGIN,
              "rows": len(bad)}
    verdict = mine >= theirs - rules.AUC_MARGIN
    return RuleResult(rules.AUC.id, verdict, f"AUC {mine:.4f} against the serving model's {theirs:.4f} on the same "
                      f"{len(bad):,} out-of-time rows ({mine - theirs:+.4f}; at most {rules.AUC_MARGIN} below allowed)",
                      detail)


def check_adverse_impact(model: Model, evaluation: pd.DataFrame, audit: pd.DataFrame, thresholds: Sequence[int],
                         justification: str | None) -> RuleResult:
    """Adverse impact ratio of every judged audit group at every threshold, on the audit data available."""
    if not len(audit.columns):
        return RuleResult(rules.ADVERSE_IMPACT.id, True, "no audit attributes for the evaluation rows: nothing to test",
                          {"audit_rows": 0, "thresholds": list(thresholds)})
    joined = evaluation.join(audit, on="subject_id", how="inner")
    if not len(joined):
        return RuleResult(rules.ADVERSE_IMPACT.id, True, "no audit attributes for the evaluation rows: nothing to test",
                          {"audit_rows": 0, "thresholds": list(thresholds)})
    table = adverse_impact(_scores(model, joined), joined[list(audit.columns)], thresholds)
    columns = ["attribute", "threshold", "group", "n", "approval_rate", "air", "fisher_p"]
    adverse = [{k: _plain(v) for k, v in row.items()} for row in table[table["adverse"]][columns].to_dict("records")]
    worst = table[table["judged"]].sort_values("air").head(1)
    lowest = None if worst.empty else {k: _plain(v) for k, v in worst.iloc[0][columns].items()}
    detail = {"audit_rows": len(joined), "thresholds": list(thresholds), "lowest": lowest, "adverse": adverse}
    if not adverse:
        text = (f"every judged group at or above {rules.AIR_MIN} at thresholds {', '.join(map(str, thresholds))}"
                + (f" (lowest {lowest['air']:.3f}: {lowest['attribute']}={lowest['group']} at {lowest['threshold']})"
                   if lowest else ""))
        return RuleResult(rules.ADVERSE_IMPACT.id, True, text, detail)
    listed = "; ".join(f"{r['attribute']}={r['group']} at {r['threshold']}: {r['air']:.3f}" for r in adverse[:6])
    text = f"adverse impact ratio below {rules.AIR_MIN}: {listed}"
    if justification:
        return RuleResult(rules.ADVERSE_IMPACT.id, True, text + " (justified by the operator)", detail,
                          override=justification)
    return RuleResult(rules.ADVERSE_IMPACT.id, False, text, detail)


def check_stability(model: Model, serving: Model | None, evaluation: pd.DataFrame, rescaling: str | None) -> RuleResult:
    """PSI of the candidate's scores against the serving model's on the same rows."""
    if serving is None:
        return RuleResult(rules.SCORE_STABILITY.id, True, "no serving model to compare with", {})
    missing = _comparable(serving, evaluation)
    if missing:
        return RuleResult(rules.SCORE_STABILITY.id, False, f"the serving model needs inputs the candidate's rows "
                          f"lack: {', '.join(missing)}", {"missing": missing})
    value = psi(_scores(serving, evaluation), _scores(model, evaluation), bins=rules.PSI_BINS)
    detail = {"psi": value, "limit": rules.SCORE_PSI_LIMIT, "rows": len(evaluation)}
    text = f"score PSI {value:.4f} against the serving model's scores (at most {rules.SCORE_PSI_LIMIT})"
    if value <= rules.SCORE_PSI_LIMIT:
        return RuleResult(rules.SCORE_STABILITY.id, True, text, detail)
    if rescaling:
        return RuleResult(rules.SCORE_STABILITY.id, True, text + " (rescaling decided by the operator)", detail,
                          override=rescaling)
    return RuleResult(rules.SCORE_STABILITY.id, False, text, detail)


def _plain(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    return value


__all__ = ["RuleResult", "check_adverse_impact", "check_auc", "check_inputs", "check_monotone", "check_reasons",
           "check_stability", "declared_directions", "true_statements", "value_grid"]
