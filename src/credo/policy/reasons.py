"""Factor groups and the reason-code catalogue (PRODUCT.md §2).

* Five published factor groups with public weights (they sum to 100).
* Reason codes: a stable code, the factor group, the consumer text and an action
  (what would help). Codes are never reused or renumbered; retire, don't recycle.
* There is deliberately no "score too low" reason: every reason names a behaviour.
* ``INQUIRY_REASON`` is the code a model may add as a 5th reason when recent
  inquiries cost points (adverse-action rule).

Models map their features to codes with a ``reason_codes`` mapping
(feature -> code). A feature without a mapping gets a generic per-feature code
from :func:`generic_reason` so that nothing is ever explained as "score too low".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FactorGroup:
    code: str
    name: str
    weight: int  # published weight, percent
    description: str


FACTOR_GROUPS: tuple[FactorGroup, ...] = (
    FactorGroup("payment_history", "Payment history", 35,
                "On time, late or missed payments, by severity and recency."),
    FactorGroup("credit_usage", "Credit usage and capacity", 30,
                "Utilisation, balances against limits, verified income band."),
    FactorGroup("history_length", "Length and stability of history", 15,
                "Age of oldest and average account, tenure with partners."),
    FactorGroup("obligations_mix", "Obligations and account mix", 15,
                "Open lines, recent new credit and inquiries, bills and rent kept current."),
    FactorGroup("identity", "Identity verification", 5,
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
    ReasonCode("R01", "payment_history", "You have late or missed payments.",
               "Pay every bill and instalment by its due date; set up reminders or automatic payments."),
    ReasonCode("R02", "payment_history", "A recent payment was seriously late.",
               "Bring overdue accounts up to date; recent delinquencies weigh less as they age."),
    ReasonCode("R03", "payment_history", "An account was charged off or sent to collections.",
               "Settle or arrange a plan for accounts in collection; records age out after 5 years."),
    ReasonCode("R04", "credit_usage", "You use a high share of your available credit.",
               "Keep balances well below your credit limits, ideally under 30 %."),
    ReasonCode("R05", "credit_usage", "Your balances are high compared with your limits or income.",
               "Pay down revolving balances and loans."),
    ReasonCode("R06", "credit_usage", "Your income is not verified.",
               "Verify your income band with a partner that can confirm it."),
    ReasonCode("R07", "history_length", "Your credit and payment history is short.",
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
    ReasonCode("R13", "obligations_mix", "You have many open credit lines or obligations.",
               "Avoid opening more lines than you need; close unused ones where sensible."),
    ReasonCode("R14", "history_length", "Your accounts with partners are recent.",
               "Staying with partners over time builds a longer, steadier record."),
)
_CODES = {r.code: r for r in REASON_CODES}

#: The reason given as a 5th reason when recent inquiries cost points.
INQUIRY_REASON: str = "R08"

#: Prefix of the generic per-feature reason codes.
GENERIC_PREFIX: str = "RX:"


def factor_group(code: str) -> FactorGroup:
    return _GROUPS[code]


def generic_reason(feature: str, group: str = "obligations_mix") -> ReasonCode:
    """Generic code for a model feature that has no catalogue mapping."""
    return ReasonCode(
        f"{GENERIC_PREFIX}{feature}", group,
        f"Your value for '{feature}' lowered your score compared with the best value.",
        f"Improving '{feature}' would help.",
    )


def reason(code: str) -> ReasonCode:
    """Look up a reason code; generic ``RX:<feature>`` codes are synthesised."""
    if code in _CODES:
        return _CODES[code]
    if code.startswith(GENERIC_PREFIX):
        return generic_reason(code[len(GENERIC_PREFIX):])
    raise KeyError(f"unknown reason code {code!r}")


def is_known(code: str) -> bool:
    return code in _CODES or code.startswith(GENERIC_PREFIX)


__all__ = [
    "FactorGroup", "FACTOR_GROUPS", "ReasonCode", "REASON_CODES", "INQUIRY_REASON",
    "GENERIC_PREFIX", "factor_group", "generic_reason", "reason", "is_known",
]
