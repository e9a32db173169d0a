"""The model card, generated from what a training run recorded in its bundle manifest.

Nothing here is fixed prose about a model: the data source, the outcome, the
inputs and what was left out (with the rule and its reason), the allowed
exceptions, each model's published scaling and bands, the factor weights (with
the basis they were computed on) and the limitations are all read from the
manifest, so the card cannot claim something the run did not do.

Two kinds of run: trained on Credo's events (the outcome is the published
definition of :mod:`credo.policy.outcome`, or labels supplied from outside),
or on a user's own table (``manifest["inputs"]``: the outcome is the user's
target column).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from credo.features.definitions import FEATURES_BY_NAME, SCORING_CRITERIA
from credo.policy.bands import Scaling
from credo.policy.columns import RULES_BY_ID
from credo.policy.outcome import BAD_DAYS_PAST_DUE, HORIZON_MONTHS, OUTCOME_DEFINITION, outcome_summary
from credo.policy.protection import FORBIDDEN_CATEGORIES
from credo.policy.reasons import factor_group

MODEL_LABELS = {"champion": "champion (scorecard)", "challenger": "challenger (monotone LightGBM)"}
#: Validation share at 350 or 950 above which the card warns that ranking is lost there.
CLAMPED_SHARE_WARNING = 0.01
#: Score PSI above which the card says the validation population has shifted.
PSI_SHIFT = 0.1
PAYMENT_HISTORY = "payment_history"
#: Labels from outside the store: the source line written by ``train_from_labels``.
_EXTERNAL_LABELS = "with external labels"


@dataclass
class InputLine:
    """One column or feature: how it was read and whether it is an input, and why not."""

    name: str
    kind: str
    read_as: str
    decision: str
    why: str = ""


@dataclass
class PublishedModel:
    """What one model publishes: its scaling, bands with expected bad rates, and weights."""

    key: str
    label: str
    scaling: Scaling
    bands: list[dict[str, Any]]
    weights_basis: str
    group_weights: list[tuple[str, float]]
    feature_weights: list[tuple[str, float]]


@dataclass
class ModelCard:
    name: str
    version: str
    trained_at: str
    data: str
    outcome: str
    inputs: list[InputLine]
    left_out: list[InputLine]
    never_inputs: list[str]
    allowed_exceptions: list[dict[str, str]]
    published: list[PublishedModel]
    zeroed_features: list[str]
    zeroed_payment_history: list[str]
    direction_exceptions: list[dict[str, Any]]
    intended_use: str
    limitations: list[str] = field(default_factory=list)


def _is_table(manifest: dict) -> bool:
    return "inputs" in manifest


def _has_external_labels(manifest: dict) -> bool:
    return not _is_table(manifest) and _EXTERNAL_LABELS in str(manifest.get("source", ""))


def _store_horizon(source: str) -> int | None:
    """The outcome horizon of a store run, when its source line is the policy's own summary."""
    match = re.search(r"within (\d+) months", source)
    return int(match.group(1)) if match and outcome_summary(int(match.group(1))) in source else None


def outcome_text(manifest: dict) -> str:
    """What "bad" means for this run: the user's target, external labels, or the published definition."""
    source = str(manifest.get("source", ""))
    if _is_table(manifest):
        plan = manifest["inputs"]
        where = f"column “{plan['target']}” of {plan['source']}"
        if plan.get("bad_value") is not None:
            return (f"Bad = the value “{plan['bad_value']}” in {where}; every other value is good. The outcome, "
                    "its horizon and its meaning are the table's, not Credo's published outcome definition.")
        return (f"Bad = 1 in the 0/1 {where} (0 = good). The outcome, its horizon and its meaning are the "
                "table's, not Credo's published outcome definition.")
    if _has_external_labels(manifest):
        return ("Bad = the external label supplied with the training run (1 = bad), joined to each consumer's "
                "features; Credo's published outcome definition was not used to label this model.")
    horizon = _store_horizon(source)
    if horizon is not None and horizon != HORIZON_MONTHS:
        return (f"{OUTCOME_DEFINITION} This model was trained with a {horizon}-month horizon instead of the "
                f"published {HORIZON_MONTHS} months.")
    return OUTCOME_DEFINITION


def _table_inputs(manifest: dict) -> tuple[list[InputLine], list[InputLine]]:
    inputs, left_out = [], []
    for c in manifest["inputs"]["columns"]:
        kind = f"{c['type']}, {c['missing_share']:.1%} missing, {c['levels']:,} distinct values"
        if c["decision"] == "input":
            why = (f"allowed despite rule {c['rule']} ({RULES_BY_ID[c['rule']].text}) because: {c['because']}"
                   if c.get("rule") else "")
            inputs.append(InputLine(c["name"], kind, c["parsed_as"], "input", why))
        elif c["decision"] == "excluded":
            left_out.append(InputLine(c["name"], kind, c["parsed_as"], f"left out: rule {c['rule']}",
                                      RULES_BY_ID[c["rule"]].text))
        else:
            left_out.append(InputLine(c["name"], kind, c["parsed_as"], "target", "the outcome (see above)"))
    return inputs, left_out


def _store_inputs(manifest: dict) -> list[InputLine]:
    lines = []
    for name in manifest.get("features", []):
        f = FEATURES_BY_NAME.get(name)
        lines.append(InputLine(name, factor_group(f.group).name if f else "", f.description if f else "", "input"))
    return lines


def _never_inputs(manifest: dict) -> list[str]:
    """Credo's forbidden categories, each with what this run did about it (an allowed column of a
    forbidden category is named, never hidden)."""
    allowed = {e["rule"]: e for e in manifest.get("allowed_exceptions", [])}
    lines = []
    for c in FORBIDDEN_CATEGORIES:
        exception = allowed.get(f"forbidden-{c.code.lower()}")
        line = f"{c.code} {c.name}: {c.rationale}"
        if exception:
            line += (f" WARNING: column “{exception['column']}” of this category was allowed as an input "
                     f"because: {exception['because']}")
        lines.append(line)
    if not _is_table(manifest):
        lines.append("Merchant categories and identifiers (what someone buys, where): insight only, never a "
                     "feature (checked on the feature SQL).")
    return lines


def _published(manifest: dict) -> list[PublishedModel]:
    models = []
    for key, record in manifest.get("published", {}).items():
        weights = record["weights"]
        groups = [(factor_group(code).name, pct) for code, pct in weights.get("groups", {}).items()]
        models.append(PublishedModel(
            key, MODEL_LABELS.get(key, key), Scaling.from_dict(record["scaling"]), record["bands"],
            weights["basis"], groups, sorted(weights["features"].items(), key=lambda kv: -kv[1])))
    return models


def _limitations(manifest: dict) -> list[str]:
    validation = manifest.get("validation", {})
    models = [k for k in MODEL_LABELS if k in validation]
    table = _is_table(manifest)
    lines = []
    psi = ", ".join(f"{MODEL_LABELS[k]} {validation[k]['psi_score']:.3f}" for k in models)
    shifted = [MODEL_LABELS[k] for k in models if validation[k]["psi_score"] > PSI_SHIFT]
    lines.append(f"Validated on the population described above (score PSI of validation against training: {psi}"
                 + (f"; above {PSI_SHIFT} for {', '.join(shifted)}: the population shifted)" if shifted else ")")
                 + ". Scores of other populations need revalidation.")
    if table:
        lines.append("Rows that fail the model's minimum scoring criteria or whose inputs are all empty get no "
                     "score (left empty by `credo score --data`), never a low score.")
        plan = manifest["inputs"]
        lines.append(f"Predicts only what column “{plan['target']}” records; over which horizon and for which "
                     "harm is defined by the table, not by Credo.")
        allowed = [e["column"] for e in manifest.get("allowed_exceptions", [])]
        lines.append("No fairness audit is part of this report. Columns whose names or values look like protected "
                     "traits or geography were left out by rule"
                     + (f", except the allowed {', '.join(allowed)}" if allowed else "")
                     + "; other inputs can still act as proxies for them.")
    else:
        lines.append(f"Consumers below the minimum scoring criteria get “not enough data”, never a low score "
                     f"({SCORING_CRITERIA.describe()})")
        if _has_external_labels(manifest):
            lines.append("Predicts the external label only; what it measures and over which horizon is defined by "
                         "its source, not by Credo's published outcome.")
        else:
            horizon = _store_horizon(str(manifest.get("source", ""))) or HORIZON_MONTHS
            lines.append(f"Predicts {BAD_DAYS_PAST_DUE}+ days past due, charge-off or collection within {horizon} "
                         "months only; lesser delinquency and other harms are not predicted.")
        lines.append("No fairness audit is part of this report; protected traits are never inputs (see above), "
                     "and an audit needs audit-only attributes kept outside the model.")
    zeroed = _zeroed_payment_history(manifest)
    if zeroed:
        lines.append(f"The scorecard's fit gave payment-history feature(s) {', '.join(zeroed)} no weight: late and "
                     "missed payments move the score only through the other payment-history features.")
    for k in models:
        v = validation[k]
        for share, where in ((v["at_floor"], "350"), (v["at_cap"], "950")):
            if share > CLAMPED_SHARE_WARNING:
                lines.append(f"{share:.1%} of validation consumers of the {MODEL_LABELS[k]} sit at {where}: "
                             "they are tied there and not ranked against each other.")
        misses = [b["band"] for b in v.get("bands", []) if not b["holds"]]
        if misses:
            lines.append(f"The {MODEL_LABELS[k]}'s published expected bad rate misses on validation in "
                         f"{', '.join(misses)} (see calibration by band).")
    return lines


def _intended_use(manifest: dict) -> str:
    if _is_table(manifest):
        return (f"A 350–950 score for rows of tables with the columns of {manifest['inputs']['source']}, trained on "
                "that table's own outcome: `credo score --data FILE` scores such a table with each row's principal "
                "reasons. It is not Credo's consumer score and was not fitted to Credo's event data.")
    return ("A 350–950 score of repayment behaviour for consumers who opted in, used to grant perks (deposit-free "
            "rentals and the like) and, with consent, credit decisions. Each score is explained by at most four "
            "principal reasons plus inquiries; a score at 950 has none.")


def _zeroed_payment_history(manifest: dict) -> list[str]:
    """Payment-history features (the store's factor group; a table's columns have no group) that the
    scorecard's fit zeroed out: the analyst expects them to matter, so the card warns."""
    if _is_table(manifest):
        return []
    return [f for f in manifest.get("zeroed_features", [])
            if f in FEATURES_BY_NAME and FEATURES_BY_NAME[f].group == PAYMENT_HISTORY]


def build_card(manifest: dict, *, name: str, description: str) -> ModelCard:
    """The card of the run recorded in ``manifest`` (``description``: the run's own line about its rows)."""
    inputs, left_out = _table_inputs(manifest) if _is_table(manifest) else (_store_inputs(manifest), [])
    zeroed = list(manifest.get("zeroed_features", []))
    validation = manifest.get("validation", {})
    data = f"{manifest.get('source', '')}. {description}".strip()
    if validation:
        data += (f" Bad rate {manifest.get('training_bad_rate', float('nan')):.2%} in the "
                 f"{manifest.get('training_rows', 0):,} training rows, {validation['bad_rate']:.2%} in the "
                 f"{validation['rows']:,} validation rows.")
    return ModelCard(
        name=name, version=manifest["version"], trained_at=manifest.get("trained_at", ""), data=data,
        outcome=outcome_text(manifest), inputs=inputs, left_out=left_out, never_inputs=_never_inputs(manifest),
        allowed_exceptions=[{**e, "rule_text": RULES_BY_ID[e["rule"]].text}
                            for e in manifest.get("allowed_exceptions", [])],
        published=_published(manifest), zeroed_features=zeroed,
        zeroed_payment_history=_zeroed_payment_history(manifest),
        direction_exceptions=list(manifest.get("direction_exceptions", [])),
        intended_use=_intended_use(manifest), limitations=_limitations(manifest),
    )


__all__ = ["InputLine", "MODEL_LABELS", "ModelCard", "PublishedModel", "build_card", "outcome_text"]
