"""The published features, each declared once, and the minimum scoring criteria.

A :class:`Feature` carries its name, factor group (PRODUCT.md §2), description,
monotone risk direction ("increasing": larger values are riskier;
"decreasing": larger values are safer), reason code
(:mod:`credo.policy.reasons`) and its SQL aggregate over the enriched events
relation of :mod:`credo.features.builder`, as a function of the as-of context
(which supplies every cut-off as a literal).

Conventions shared by every feature:

* windows are by event time: ``occurred_at >= cut`` (the ``< D`` bound is
  applied to every event before aggregation); negative records use
  ``since(…, negative=True)`` so they age out after the retention period;
* ``empty="zero"`` features are BIGINT counts / levels and are 0 when nothing
  qualifies; ``empty="null"`` features are DOUBLE and NULL when there is
  nothing to measure (no account for a utilisation, no bill for a share…);
  the scorecard's missing bin takes them;
* "months since" is a calendar-month difference (month index of D's UTC date
  minus month index of the record's date);
* latest-snapshot features (statements, bureau tradelines) use the most recent
  record per account / tradeline (``recency_rank = 1``); accounts with a
  ``credit.closed`` or ``credit.charged_off`` are not open.

Deliberately not used: chargebacks (a dispute is the exercise of a right,
PRODUCT.md §3), refunds, order amounts and merchant categories (what someone
buys), ``deposit_waived`` (a partner's decision, not behaviour).
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from credo.events.schemas import BillKind, CreditProduct, EVENT_MODELS, IncomeBand
from credo.features.builder import (
    AsOf,
    agg_if,
    all_of,
    any_of,
    count_if,
    days_between,
    in_list,
    is_type,
    month_index_sql,
    ordinal,
    ratio,
)
from credo.policy.reasons import FACTOR_GROUPS, ReasonRule, is_known, reason

Direction = Literal["increasing", "decreasing"]
GROUPS: tuple[str, ...] = tuple(g.code for g in FACTOR_GROUPS)


@dataclass(frozen=True)
class Feature:
    name: str
    group: str
    description: str
    direction: Direction  # "increasing": larger value = more risk
    reason_code: str
    sql: Callable[[AsOf], str]
    empty: Literal["zero", "null"] = "zero"
    #: When the reason statements are true for a value (first match wins); default: ``reason_code`` for
    #: every value outside the best range (statements relative to the lowest-risk consumers).
    reason_rules: tuple[ReasonRule, ...] = ()
    #: The code that explains a missing value (a lack of data); None: a missing value is never a reason.
    missing_reason: str | None = None
    #: What NULL means when it is a fact, not a lack of data (e.g. "no delinquency within the
    #: retention period"): the model sees this value instead of NULL.
    null_means: float | None = None

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ValueError(f"{self.name}: unknown factor group {self.group!r}")
        if self.direction not in ("increasing", "decreasing"):
            raise ValueError(f"{self.name}: direction must be 'increasing' or 'decreasing'")
        if not is_known(self.reason_code):
            raise ValueError(f"{self.name}: unknown reason code {self.reason_code!r}")
        for code in (self.reason_code, *(r.code for r in self.reason_rules), self.missing_reason):
            if code is not None and reason(code).group != self.group:
                raise ValueError(f"{self.name}: reason {code} is not in group {self.group}")

    @property
    def sql_type(self) -> str:
        return "BIGINT" if self.empty == "zero" else "DOUBLE"

    @property
    def rules(self) -> tuple[ReasonRule, ...]:
        return self.reason_rules or (ReasonRule("any", None, self.reason_code),)

    def rules_record(self) -> dict:
        """The model's ``reason_rules`` entry for this feature (JSON)."""
        return {"rules": [r.to_list() for r in self.rules], "missing": self.missing_reason}

    @property
    def monotone(self) -> int:
        """+1 when risk rises with the value, -1 when it falls (scorecard convention)."""
        return 1 if self.direction == "increasing" else -1


def _literal_values(annotation: object) -> tuple[str, ...]:
    return tuple(typing.get_args(annotation))


INCOME_BANDS = _literal_values(IncomeBand)  # ordered low → high
IDENTITY_LEVELS = _literal_values(EVENT_MODELS["identity.verified"].model_fields["level"].annotation)
BILL_KINDS = _literal_values(BillKind)
REVOLVING_PRODUCTS = tuple(p for p in _literal_values(CreditProduct) if p in ("credit_card", "revolving_line", "bnpl_line"))
DEROGATORY_STATUSES = ("charged_off", "collection")

# ---------------------------------------------------------------- shared conditions


def _win(d: AsOf, months: int | None, negative: bool = False) -> str:
    return f"occurred_at >= {d.since(months, negative=negative)}"


#: A payment made after its due date (a record per late instalment, bill or status month).
LATE = any_of(
    all_of(is_type("order.payment"), "paid_date > due_date"),
    all_of(is_type("bill.paid"), "paid_date > bill_due_date"),
    all_of(is_type("credit.status"), "days_past_due >= 30"),
)


def missed(d: AsOf) -> str:
    """An order instalment reported unpaid, or a bill still unpaid 30 days after its due date."""
    return any_of(
        all_of(is_type("order.payment"), "paid_date IS NULL"),
        all_of(is_type("bill.issued"), "bill_paid_date IS NULL", f"due_date < {d.days_before(30)}"),
    )


ACCOUNT_ROW = any_of(is_type("credit.opened"), all_of(is_type("bureau.tradeline"), "recency_rank = 1"))
OPEN_STATEMENT = all_of(is_type("credit.statement"), "recency_rank = 1", "NOT account_ended")
OPEN_TRADELINE = all_of(is_type("bureau.tradeline"), "recency_rank = 1", "status = 'open'")
DEROGATORY = any_of(
    is_type("credit.charged_off"),
    all_of(is_type("bureau.tradeline"), "recency_rank = 1", in_list("status", DEROGATORY_STATUSES)),
)


def _worst_dpd(d: AsOf, months: int) -> str:
    w = _win(d, months, negative=True)
    parts = [
        agg_if("MAX", "days_past_due", all_of(is_type("credit.status"), w)),
        agg_if("MAX", "worst_days_past_due_24m", all_of(is_type("bureau.tradeline"), "recency_rank = 1", w)),
        agg_if("MAX", days_between("due_date", "paid_date"),
               all_of(is_type("order.payment"), "paid_date > due_date", w)),
        agg_if("MAX", days_between("due_date", d.today),
               all_of(is_type("order.payment"), "paid_date IS NULL", w)),
        agg_if("MAX", days_between("bill_due_date", "paid_date"),
               all_of(is_type("bill.paid"), "paid_date > bill_due_date", w)),
    ]
    return "GREATEST(" + ", ".join(f"COALESCE({p}, 0)" for p in parts) + ")"


def _payment_to_balance(d: AsOf, months: int) -> str:
    return ratio(
        agg_if("SUM", "amount_minor", all_of(is_type("credit.payment"), _win(d, months))),
        agg_if("SUM", "balance_minor", all_of(is_type("credit.statement"), _win(d, months))),
    )


def _bills_on_time(d: AsOf, kinds: tuple[str, ...]) -> str:
    due = all_of(is_type("bill.issued"), in_list("bill_kind", kinds), f"due_date < {d.today}",
                 _win(d, 12, negative=True))
    return ratio(count_if(all_of(due, "bill_paid_date <= due_date")), count_if(due))


# ---------------------------------------------------------------- reason statements

#: "You have late or missed payments on record": true for any count above zero.
LATE_RULES = (ReasonRule(">", 0, "R01"),)
#: Days past due: 30 or more is "30 or more days late", less is a late payment.
DPD_RULES = (ReasonRule(">=", 30, "R02"), ReasonRule(">", 0, "R01"))
#: A share of credit in use: 30 % or more is "a high share", any other use "part of".
USE_RULES = (ReasonRule(">=", 0.3, "R04"), ReasonRule(">", 0, "R23"))
#: Months since the last delinquency when there is none within the retention period: a fact (none on
#: record), not a lack of data, so it is a value beyond every window rather than NULL.
NO_DELINQUENCY_MONTHS = 600.0

# ---------------------------------------------------------------- the features

FEATURES: tuple[Feature, ...] = (
    # --- payment history
    Feature("late_payments_12m", "payment_history",
            "Payments made after their due date in the last 12 months: order instalments, bills "
            "(paid after the issued bill's due date) and credit months 30+ days past due.",
            "increasing", "R01", lambda d: count_if(all_of(LATE, _win(d, 12, negative=True))),
            reason_rules=LATE_RULES),
    Feature("late_payments_24m", "payment_history",
            "Payments made after their due date in the last 24 months (as late_payments_12m).",
            "increasing", "R01", lambda d: count_if(all_of(LATE, _win(d, 24, negative=True))),
            reason_rules=LATE_RULES),
    Feature("missed_payments_12m", "payment_history",
            "Order instalments reported unpaid and bills unpaid 30+ days after their due date, "
            "last 12 months.",
            "increasing", "R01", lambda d: count_if(all_of(missed(d), _win(d, 12, negative=True))),
            reason_rules=LATE_RULES),
    Feature("worst_days_past_due_24m", "payment_history",
            "Worst days past due in the last 24 months across credit status, bureau tradelines, "
            "late or missed order instalments and late bills (0 when none).",
            "increasing", "R02", lambda d: _worst_dpd(d, 24), reason_rules=DPD_RULES),
    Feature("months_since_last_delinquency", "payment_history",
            "Calendar months since the most recent late, missed or charged-off record within the "
            "retention period; NULL when there is none.",
            "decreasing", "R02",
            lambda d: d.months_since(agg_if(
                "MAX", "occurred_date",
                all_of(any_of(LATE, missed(d), is_type("credit.charged_off")), _win(d, None, negative=True)))),
            empty="null", reason_rules=(ReasonRule("<", NO_DELINQUENCY_MONTHS, "R01"),),
            null_means=NO_DELINQUENCY_MONTHS),
    Feature("days_past_due_now", "payment_history",
            "Days past due now: the latest credit status of each account reported in the last 3 "
            "months, worst across accounts (0 when none).",
            "increasing", "R02",
            lambda d: f"COALESCE({agg_if('MAX', 'days_past_due', all_of(is_type('credit.status'), 'recency_rank = 1', _win(d, 3, negative=True)))}, 0)",
            reason_rules=DPD_RULES),
    Feature("worst_days_past_due_3m", "payment_history",
            "Worst days past due in the last 3 months across credit status, bureau tradelines, "
            "late or missed order instalments and late bills (0 when none).",
            "increasing", "R02", lambda d: _worst_dpd(d, 3), reason_rules=DPD_RULES),
    Feature("late_payments_3m", "payment_history",
            "Payments made after their due date in the last 3 months (as late_payments_12m).",
            "increasing", "R01", lambda d: count_if(all_of(LATE, _win(d, 3, negative=True))),
            reason_rules=LATE_RULES),
    Feature("derogatory_records", "payment_history",
            "Charge-offs reported by partners plus bureau tradelines currently charged off or in "
            "collection, within the retention period.",
            "increasing", "R03", lambda d: count_if(all_of(DEROGATORY, _win(d, None, negative=True))),
            reason_rules=(ReasonRule(">", 0, "R03"),)),
    # --- credit usage and capacity
    Feature("revolving_utilisation", "credit_usage",
            "Latest statement balances over limits of open revolving accounts (cards, lines, BNPL "
            "lines), in minor units; NULL without such an account.",
            "increasing", "R04",
            lambda d: ratio(
                agg_if("SUM", "balance_minor", all_of(OPEN_STATEMENT, in_list("account_product", REVOLVING_PRODUCTS))),
                agg_if("SUM", "account_limit_minor",
                       all_of(OPEN_STATEMENT, in_list("account_product", REVOLVING_PRODUCTS))),
            ),
            empty="null", reason_rules=USE_RULES, missing_reason="R15"),
    Feature("balance_to_limit", "credit_usage",
            "Total latest balances over total limits of every open account (partner accounts and "
            "open bureau tradelines); NULL without an open account with a limit.",
            "increasing", "R05",
            lambda d: ratio(
                f"COALESCE({agg_if('SUM', 'balance_minor', OPEN_STATEMENT)}, 0) + "
                f"COALESCE({agg_if('SUM', 'balance_minor', OPEN_TRADELINE)}, 0)",
                f"COALESCE({agg_if('SUM', 'account_limit_minor', OPEN_STATEMENT)}, 0) + "
                f"COALESCE({agg_if('SUM', 'credit_limit_minor', OPEN_TRADELINE)}, 0)",
            ),
            empty="null", reason_rules=(ReasonRule(">=", 0.3, "R05"), ReasonRule(">", 0, "R23")),
            missing_reason="R15"),
    Feature("payment_to_balance_3m", "credit_usage",
            "Credit-account payments in the last 3 months over the statement balances of the last 3 "
            "months, in minor units; NULL without a statement balance.",
            "decreasing", "R19", lambda d: _payment_to_balance(d, 3), empty="null", missing_reason="R15"),
    Feature("average_utilisation_6m", "credit_usage",
            "Statement balances over the accounts' limits across every statement of the last 6 "
            "months, in minor units; NULL without a statement on an account with a limit.",
            "increasing", "R04",
            lambda d: ratio(
                agg_if("SUM", "balance_minor", all_of(is_type("credit.statement"), _win(d, 6))),
                agg_if("SUM", "account_limit_minor", all_of(is_type("credit.statement"), _win(d, 6))),
            ),
            empty="null", reason_rules=USE_RULES, missing_reason="R15"),
    Feature("payment_to_balance_6m", "credit_usage",
            "Credit-account payments in the last 6 months over the statement balances of the last 6 "
            "months, in minor units; NULL without a statement balance.",
            "decreasing", "R19", lambda d: _payment_to_balance(d, 6), empty="null", missing_reason="R15"),
    Feature("credit_payments_3m", "credit_usage",
            "Total paid on credit accounts in the last 3 months, in minor units: repayment "
            "capacity shown (0 when none).",
            "decreasing", "R20",
            lambda d: f"COALESCE({agg_if('SUM', 'amount_minor', all_of(is_type('credit.payment'), _win(d, 3)))}, 0)",
            reason_rules=(ReasonRule("<=", 0, "R20"), ReasonRule("any", None, "R25"))),
    Feature("total_credit_limit", "credit_usage",
            "Total limits of open accounts (partner accounts and open bureau tradelines), in minor "
            "units: capacity, not debt; NULL without an open account with a limit.",
            "decreasing", "R21",
            lambda d: f"CAST(NULLIF(COALESCE({agg_if('SUM', 'account_limit_minor', OPEN_STATEMENT)}, 0) + "
                      f"COALESCE({agg_if('SUM', 'credit_limit_minor', OPEN_TRADELINE)}, 0), 0) AS DOUBLE)",
            empty="null", missing_reason="R15"),
    Feature("income_band", "credit_usage",
            "Latest verified monthly income band as an ordinal (1 = " + INCOME_BANDS[0] + " … "
            f"{len(INCOME_BANDS)} = " + INCOME_BANDS[-1] + "); NULL when not verified.",
            "decreasing", "R22",
            lambda d: agg_if("MAX", ordinal("band", INCOME_BANDS),
                             all_of(is_type("income.verified"), "type_recency_rank = 1")),
            empty="null", missing_reason="R06"),
    # --- length and stability of history
    Feature("months_since_oldest_account", "history_length",
            "Calendar months since the oldest account opened (partner credit accounts and bureau "
            "tradelines); NULL without an account.",
            "decreasing", "R07",
            lambda d: d.months_since(agg_if("MIN", "opened_date", ACCOUNT_ROW)), empty="null",
            missing_reason="R16"),
    Feature("average_account_age_months", "history_length",
            "Mean age in calendar months of the accounts (partner and bureau); NULL without an account.",
            "decreasing", "R07",
            lambda d: agg_if("AVG", f"{d.month_index} - ({month_index_sql('opened_date')})", ACCOUNT_ROW),
            empty="null", missing_reason="R16"),
    Feature("tenure_months", "history_length",
            "Calendar months since the consumer's first event of any kind with any partner.",
            "decreasing", "R14", lambda d: d.months_since("MIN(occurred_date)"), empty="null"),
    # --- obligations and account mix
    Feature("open_credit_lines", "obligations_mix",
            "Open partner credit accounts plus open bureau tradelines.",
            "increasing", "R13",
            lambda d: count_if(any_of(all_of(is_type("credit.opened"), "NOT account_ended"), OPEN_TRADELINE)),
            reason_rules=(ReasonRule(">", 0, "R13"),)),
    Feature("new_accounts_6m", "obligations_mix",
            "Accounts opened in the last 6 months (partner and bureau).",
            "increasing", "R08",
            lambda d: count_if(all_of(ACCOUNT_ROW, f"opened_date >= {d.date_since(6)}")),
            reason_rules=(ReasonRule(">", 0, "R08"),)),
    Feature("inquiries_6m", "obligations_mix", "Credit applications (inquiries) in the last 6 months.",
            "increasing", "R08", lambda d: count_if(all_of(is_type("credit.inquiry"), _win(d, 6))),
            reason_rules=(ReasonRule(">", 0, "R08"),)),
    Feature("inquiries_12m", "obligations_mix", "Credit applications (inquiries) in the last 12 months.",
            "increasing", "R08", lambda d: count_if(all_of(is_type("credit.inquiry"), _win(d, 12))),
            reason_rules=(ReasonRule(">", 0, "R08"),)),
    Feature("bills_on_time_share_12m", "obligations_mix",
            "Share of utility and telecom bills due in the last 12 months that were paid by their due "
            "date (unpaid counts as not on time); NULL without such a bill.",
            "decreasing", "R10",
            lambda d: _bills_on_time(d, tuple(k for k in BILL_KINDS if k != "rent")), empty="null",
            reason_rules=(ReasonRule("<", 1, "R10"),), missing_reason="R17"),
    Feature("rent_on_time_share_12m", "obligations_mix",
            "Share of rent bills due in the last 12 months paid by their due date; NULL without rent.",
            "decreasing", "R10", lambda d: _bills_on_time(d, ("rent",)), empty="null",
            reason_rules=(ReasonRule("<", 1, "R10"),), missing_reason="R17"),
    Feature("rental_returns_on_time_share_12m", "obligations_mix",
            "Share of rentals and rides returned or settled on time in the last 12 months; NULL "
            "without a return.",
            "decreasing", "R24",
            lambda d: ratio(
                count_if(all_of(is_type("rental.returned"), "on_time", _win(d, 12, negative=True))),
                count_if(all_of(is_type("rental.returned"), _win(d, 12, negative=True))),
            ),
            empty="null", reason_rules=(ReasonRule("<", 1, "R24"),), missing_reason="R18"),
    Feature("unpaid_rental_fees_12m", "obligations_mix", "Rental or ride fees left unpaid in the last 12 months.",
            "increasing", "R11",
            lambda d: count_if(all_of(is_type("rental.fee_unpaid"), _win(d, 12, negative=True))),
            reason_rules=(ReasonRule(">", 0, "R11"),)),
    # --- identity
    Feature("identity_level", "identity",
            "Highest identity verification level (0 none, " + ", ".join(
                f"{i} {v}" for i, v in enumerate(IDENTITY_LEVELS, start=1)) + ").",
            "decreasing", "R12",
            lambda d: f"COALESCE({agg_if('MAX', ordinal('level', IDENTITY_LEVELS), is_type('identity.verified'))}, 0)",
            reason_rules=(ReasonRule("<", len(IDENTITY_LEVELS), "R12"),)),
)

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
FEATURES_BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}
#: The feature that measures recent inquiries (a 5th reason when it costs points).
INQUIRY_FEATURE = "inquiries_6m"


def reason_codes() -> dict[str, str]:
    """Feature → reason code, for the scorecard's ``reason_codes``."""
    return {f.name: f.reason_code for f in FEATURES}


def reason_rules() -> dict[str, dict]:
    """Feature → when its reason statements are true and the code of a missing value, for the models'
    ``reason_rules``."""
    return {f.name: f.rules_record() for f in FEATURES}


def null_values() -> dict[str, float]:
    """Feature → the value NULL stands for, where NULL is a fact rather than a lack of data."""
    return {f.name: f.null_means for f in FEATURES if f.null_means is not None}


def own_bins() -> dict[str, list[float]]:
    """Feature → values that always get a bin of their own: 0 of every count or level where more is
    riskier, so "none" is never pooled with "some" (removing every late payment always shows)."""
    return {f.name: [0.0] for f in FEATURES if f.direction == "increasing" and f.empty == "zero"}


#: Collinear measures of the same records, which share one scorecard coefficient (their WoEs enter the
#: regression summed): a late bill is counted in the late-payment counts and in the on-time shares, and a
#: delinquency shows in its worst days past due and in the months since it. Fitted apart, the regression
#: zeroes all but one of each family, and removing late payments then moves no score.
TIED_FEATURES: tuple[tuple[str, ...], ...] = (
    ("late_payments_3m", "late_payments_12m", "late_payments_24m", "bills_on_time_share_12m",
     "rent_on_time_share_12m"),
    ("worst_days_past_due_3m", "worst_days_past_due_24m", "months_since_last_delinquency"),
)


def model_settings() -> dict:
    """What every model trained on these features is told about them (one place for the store paths)."""
    return {"directions": monotone_constraints(), "codes": reason_codes(), "rules": reason_rules(),
            "null_values": null_values(), "own_bins": own_bins(), "groups": feature_groups(),
            "tied": [list(t) for t in TIED_FEATURES],
            "inquiry_feature": INQUIRY_FEATURE}


def monotone_constraints() -> dict[str, int]:
    """Feature → +1 (risk rises with the value) / -1 (falls), for ``monotone_constraints``."""
    return {f.name: f.monotone for f in FEATURES}


def feature_groups() -> dict[str, str]:
    return {f.name: f.group for f in FEATURES}


# ---------------------------------------------------------------- minimum scoring criteria

#: Events that show how someone meets an obligation (a due date or a delinquency status).
PERFORMANCE_TYPES: tuple[str, ...] = (
    "order.payment", "bill.issued", "bill.paid", "credit.statement", "credit.status", "credit.payment",
    "credit.charged_off", "rental.returned", "rental.fee_unpaid", "bureau.tradeline",
)


@dataclass(frozen=True)
class ScoringCriteria:
    """Minimum scoring criteria (the thin-file rule), as of D.

    A consumer is scorable when all three hold, counting only events usable as
    of D (received and occurred before D, corrections and retractions applied):

    1. **history**: their first event is at least ``min_history_months`` before D;
    2. **recency**: at least ``min_recent_records`` performance record(s) in
       the last ``recent_months``;
    3. **substance**: at least ``min_records`` performance records in the last
       ``records_window_months``.

    Performance records are :data:`PERFORMANCE_TYPES`: instalments, bills,
    credit statements, statuses and payments, charge-offs, rental returns and
    unpaid fees, bureau tradelines. Identity or income verification, orders
    and inquiries alone never make a file scorable. Anyone else gets "not
    enough data to score", never a low score.
    """

    min_history_months: int = 6
    recent_months: int = 6
    min_recent_records: int = 1
    records_window_months: int = 24
    min_records: int = 3

    def sql(self, d: AsOf) -> str:
        perf = is_type(*PERFORMANCE_TYPES)
        return (
            f"(MIN(occurred_at) < {d.since(self.min_history_months)}) "
            f"AND ({count_if(all_of(perf, _win(d, self.recent_months)))} >= {self.min_recent_records}) "
            f"AND ({count_if(all_of(perf, _win(d, self.records_window_months)))} >= {self.min_records})"
        )

    def describe(self) -> str:
        return (
            f"First event at least {self.min_history_months} months before the as-of date; at least "
            f"{self.min_recent_records} payment-performance record(s) in the last {self.recent_months} months; "
            f"at least {self.min_records} in the last {self.records_window_months} months."
        )


SCORING_CRITERIA = ScoringCriteria()


__all__ = [
    "Feature", "FEATURES", "FEATURE_NAMES", "FEATURES_BY_NAME", "INQUIRY_FEATURE", "GROUPS",
    "PERFORMANCE_TYPES", "ScoringCriteria", "SCORING_CRITERIA", "reason_codes", "reason_rules", "null_values",
    "monotone_constraints", "feature_groups", "NO_DELINQUENCY_MONTHS", "own_bins", "model_settings", "TIED_FEATURES",
]
