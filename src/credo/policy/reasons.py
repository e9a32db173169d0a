"""Factor groups and the reason-code catalogue (PRODUCT.md §2).

* Five published factor groups. Their weights are not policy: they are
  computed from the serving model (each group's share of the model's point
  range) and stored in its bundle, so the weights shown are the model's.
* Reason codes: a stable code, the factor group, the consumer text and an action
  (what would help). Codes are never reused or renumbered; retire, don't recycle.
* There is deliberately no "score too low" reason: every reason names a behaviour
  or, for a lack of data, says so as a lack of data.
* A reason is **true** for the consumer it is given to: each feature declares
  :class:`ReasonRule` s (the value range in which its statement holds, first
  match wins) and the code for a missing value. A value no rule covers never
  becomes a reason; a missing value is only ever explained by a "no … reported
  yet" code, never as behaviour.
* Reasons are given only when they cost at least :data:`MIN_REASON_POINTS`,
  and never at the top of the range (a 950 has nothing lowering it).
* ``INQUIRY_REASON`` is the code a model may add as a 5th reason when recent
  inquiries cost points (adverse-action rule).

Models map their features to codes with ``reason_rules`` (feature ->
{"rules": [[op, threshold, code], ...], "missing": code}). A feature without
rules (a user's own column) gets generic per-feature codes from
:func:`generic_reason` (``RX:<feature>``, its value is in a riskier range than
the best) and :func:`missing_reason` (``RM:<feature>``, no value given).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class FactorGroup:
    code: str
    name: str
    description: str


FACTOR_GROUPS: tuple[FactorGroup, ...] = (
    FactorGroup("payment_history", "Payment history",
                "On time, late or missed payments, by severity and recency."),
    FactorGroup("credit_usage", "Credit usage and capacity",
                "Utilisation, balances against limits, verified income band."),
    FactorGroup("history_length", "Length and stability of history",
                "Age of oldest and average account, tenure with partners."),
    FactorGroup("obligations_mix", "Obligations and account mix",
                "Open lines, recent new credit and inquiries, bills and rent kept current."),
    FactorGroup("identity", "Identity verification",
                "Verification level only; never demographics."),
)
_GROUPS = {g.code: g for g in FACTOR_GROUPS}


@dataclass(frozen=True)
class ReasonCode:
    code: str
    group: str  # FactorGroup.code
    text: str  # consumer text: what lowered the score
    action: str  # what would help


REASON_CODES: tuple[ReasonCode, ...] = (
    ReasonCode("R01", "payment_history", "You have late or missed payments on record.",
               "Pay every bill and instalment by its due date; set up reminders or automatic payments."),
    ReasonCode("R02", "payment_history", "A payment was 30 or more days late.",
               "Bring overdue accounts up to date; recent delinquencies weigh less as they age."),
    ReasonCode("R03", "payment_history", "An account was charged off or sent to collections.",
               "Settle or arrange a plan for accounts in collection; records age out after 5 years."),
    ReasonCode("R04", "credit_usage", "You use a high share of your available credit.",
               "Keep balances well below your credit limits, ideally under 30 %."),
    ReasonCode("R05", "credit_usage", "Your balances are high compared with your limits or income.",
               "Pay down revolving balances and loans."),
    ReasonCode("R06", "credit_usage", "Your income is not verified.",
               "Verify your income band with a partner that can confirm it."),
    ReasonCode("R07", "history_length", "Your credit accounts are newer than those of the lowest-risk consumers.",
               "Keep accounts in good standing over time; the length of your history grows on its own."),
    ReasonCode("R08", "obligations_mix", "You have had recent credit inquiries or new credit.",
               "Apply for new credit only when you need it."),
    ReasonCode("R09", "obligations_mix", "You have few accounts or a thin mix of accounts.",
               "A few well-managed accounts of different kinds show how you handle credit."),
    ReasonCode("R10", "obligations_mix", "Some bills or rent are not kept current.",
               "Pay utility, telecom and rent bills on time."),
    ReasonCode("R11", "obligations_mix", "You have unpaid rental or ride fees.",
               "Pay outstanding fees for rentals and rides and return items on time."),
    ReasonCode("R12", "identity", "Your identity is not fully verified.",
               "Complete identity verification with a partner."),
    ReasonCode("R13", "obligations_mix", "You have more open credit lines than the lowest-risk consumers.",
               "Avoid opening more lines than you need; close unused ones where sensible."),
    ReasonCode("R14", "history_length", "Your record with partners is shorter than that of the lowest-risk consumers.",
               "Staying with partners over time builds a longer, steadier record."),
    # --- lack of data, said as a lack of data
    ReasonCode("R15", "credit_usage", "No credit card or credit line statements have been reported yet, so your credit use cannot be shown.",
               "If you have a credit card or line, ask its issuer to report it to Credo (with your consent)."),
    ReasonCode("R16", "history_length", "No credit history has been reported yet.",
               "Accounts reported to Credo over time build your history; it grows on its own."),
    ReasonCode("R17", "obligations_mix", "No rent or bill payment history has been reported yet.",
               "Ask your landlord, utility or telecom provider to report your payments to Credo (with your consent)."),
    ReasonCode("R18", "obligations_mix", "No rental or ride history has been reported yet.",
               "Rentals and rides returned and paid on time, reported with your consent, add to your record."),
    # --- graded behaviour, stated as it is
    ReasonCode("R19", "credit_usage", "You repay a smaller share of your credit balances than the lowest-risk consumers.",
               "Paying more than the minimum, ideally the full statement balance, helps."),
    ReasonCode("R20", "credit_usage", "No payments on credit accounts were reported in the last 3 months.",
               "Regular payments on a credit account, reported with your consent, show repayment capacity."),
    ReasonCode("R21", "credit_usage", "Your total credit limit is lower than that of the lowest-risk consumers.",
               "Nothing to do in a hurry: limits tend to grow with a good repayment record."),
    ReasonCode("R22", "credit_usage", "Your verified income is in a lower band.",
               "If your income has changed, verify it again with a partner that can confirm it."),
    ReasonCode("R23", "credit_usage", "You use part of your available credit; lower balances score better.",
               "Pay balances down before the statement date."),
    ReasonCode("R24", "obligations_mix", "Some rentals or rides were returned late.",
               "Return rented items by their due time."),
    ReasonCode("R25", "credit_usage", "Your recent credit repayments are smaller than those of the lowest-risk consumers.",
               "Regular repayments on your credit accounts show repayment capacity."),
)
_CODES = {r.code: r for r in REASON_CODES}

#: The reason given as a 5th reason when recent inquiries cost points.
INQUIRY_REASON: str = "R08"

#: Prefix of the generic per-feature reason codes.
GENERIC_PREFIX: str = "RX:"
#: Prefix of the generic "no value given" codes of a user's own columns.
MISSING_PREFIX: str = "RM:"

#: A feature costing fewer points than this is not a principal reason ("a few points").
MIN_REASON_POINTS: int = 5

Op = Literal[">", ">=", "<", "<=", "any"]


@dataclass(frozen=True)
class ReasonRule:
    """The value range in which a feature's reason statement is true: ``value <op> threshold``
    (``"any"``: every non-missing value, for statements relative to the best range)."""

    op: Op
    threshold: float | None
    code: str

    def holds(self, values) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        with np.errstate(invalid="ignore"):
            if self.op == "any":
                return ~np.isnan(v)
            if self.threshold is None:
                raise ValueError(f"reason rule {self.code}: {self.op!r} needs a threshold")
            t = float(self.threshold)
            return {">": v > t, ">=": v >= t, "<": v < t, "<=": v <= t}[self.op]

    def to_list(self) -> list:
        return [self.op, self.threshold, self.code]

    @classmethod
    def from_list(cls, item) -> "ReasonRule":
        op, threshold, code = item
        return cls(op, None if threshold is None else float(threshold), str(code))


def _readable(feature: str) -> str:
    return feature.replace("_", " ").strip()


def factor_group(code: str) -> FactorGroup:
    return _GROUPS[code]


def generic_reason(feature: str, group: str = "obligations_mix") -> ReasonCode:
    """Generic code for a model feature that has no catalogue mapping (a user's own column)."""
    name = _readable(feature)
    return ReasonCode(
        f"{GENERIC_PREFIX}{feature}", group,
        f"Your value for {name} is in a range with more risk than its lowest-risk range.",
        f"A value for {name} closer to its lowest-risk range would help.",
    )


def missing_reason(feature: str, group: str = "obligations_mix") -> ReasonCode:
    """Generic code for a user's own column whose value was not given."""
    name = _readable(feature)
    return ReasonCode(
        f"{MISSING_PREFIX}{feature}", group, f"No value for {name} was provided.",
        f"Providing a value for {name} may help.",
    )


def reason(code: str) -> ReasonCode:
    """Look up a reason code; generic ``RX:<feature>`` / ``RM:<feature>`` codes are synthesised."""
    if code in _CODES:
        return _CODES[code]
    if code.startswith(GENERIC_PREFIX):
        return generic_reason(code[len(GENERIC_PREFIX):])
    if code.startswith(MISSING_PREFIX):
        return missing_reason(code[len(MISSING_PREFIX):])
    raise KeyError(f"unknown reason code {code!r}")


def is_known(code: str) -> bool:
    return code in _CODES or code.startswith((GENERIC_PREFIX, MISSING_PREFIX))


def generic_rules(feature: str) -> dict:
    """``reason_rules`` entry of a feature without declared rules: any value in a riskier range than the
    best is stated as such; a missing value as not provided."""
    return {"rules": [ReasonRule("any", None, f"{GENERIC_PREFIX}{feature}").to_list()],
            "missing": f"{MISSING_PREFIX}{feature}"}


__all__ = [
    "FactorGroup", "FACTOR_GROUPS", "ReasonCode", "REASON_CODES", "INQUIRY_REASON", "GENERIC_PREFIX",
    "MISSING_PREFIX", "MIN_REASON_POINTS", "ReasonRule", "factor_group", "generic_reason", "missing_reason",
    "generic_rules", "reason", "is_known",
]
