"""The generative model: latent consumers and the events their behaviour produces.

Everything is vectorised over consumers, orders, bills, accounts…; the only
Python loop of the hot path runs over *months* (the delinquency state machine
of credit accounts), each step vectorised over the accounts.

Latent truth per consumer (kept apart from events), drawn once and driving
every behaviour, credit or not:

* ``z`` ~ N(0, 1) persistent creditworthiness; the income band, the length of
  credit history and the chance of never borrowing are correlated with it;
* monthly **stress** = ``-z`` + a random walk of circumstances + *life shocks*
  (job loss, illness…: Poisson arrivals, a few months long, no cause ever
  recorded) + the squeeze after heavy-spending months + month-to-month noise;
* a **default month**: the consumer stops paying what falls due (drawn from the
  month's stress). In a default month bills and rent go unpaid, instalments
  are reported unpaid, rentals are not returned and credit payments are
  missed; otherwise obligations are paid on time, a little late or seriously
  late (30–89 days), more often the higher the stress.
* a rental or ride **fee** the partner could not collect (an item never
  returned, the overtime fee of a seriously late return) is reported unpaid
  and, like a late bill, is usually paid later (``rental.fee_paid``), later
  the higher the stress when it falls due; one falling due in a default month
  mostly never is.

So late and missed payments, rising utilisation and a short history all go
with a worse outcome, and non-borrowers become bad through their bills, rent,
instalments and rental fees. The future stays uncertain: shocks arrive without
warning and circumstances drift, so history predicts the outcome about as well
as on real credit data, not better. The outcome is the published definition
(:mod:`credo.policy.outcome`); :meth:`_Chunk.outcomes` dates it from the
events exactly as :func:`credo.features.training.first_bad_dates` does.

Thin-file consumers have an identity and a couple of orders; consumers who
never borrow have no ``credit.*`` events but bills, orders and rentals.
Nothing occurs or is received on or after the configured end date.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from credo.policy.outcome import BAD_DAYS_PAST_DUE
from credo.simulate.assemble import (
    DATE_NULL,
    ENUMS,
    TS_NULL,
    US_PER_DAY,
    US_PER_SECOND,
    Part,
    assemble,
    concat_parts,
)
from credo.simulate.config import SimulationChunk, SimulationConfig
from credo.simulate.partners import (
    P_BIKE, P_BUR, P_CARD, P_IDV, P_INC, P_LLD, P_LOAN, P_MKT, P_PWR, P_RIDE, P_TEL,
    PARTNER_IDS, partners,
)

DAY_S = 86_400
BANDS = ENUMS["band"]
_BAND_CUTS = np.array([-1.2816, -0.2533, 0.6745, 1.4758])  # 10/30/35/18/7 %
_BAND_INCOME = np.array([1_500, 3_500, 7_500, 14_000, 30_000]) * 100  # monthly, fen
#: spending seasonality by month of year (Spring Festival ~Feb, 618 in June, Singles' Day / year end)
_SEASON = np.array([1.05, 1.35, 0.9, 0.95, 1.0, 1.2, 0.95, 0.95, 1.0, 1.0, 1.6, 1.35])
_UTIL_SEASON = np.array([1.35, 1.3, 1.05, 0.9, 0.85, 1.0, 1.35, 1.4, 1.05, 0.9, 0.95, 1.25])
PRODUCT = {name: i for i, name in enumerate(ENUMS["product"])}
REASON = {name: i for i, name in enumerate(ENUMS["reason"])}
RENTAL = {name: i for i, name in enumerate(ENUMS["rental_kind"])}
STATUS = {name: i for i, name in enumerate(ENUMS["status"])}
SEGMENTS = ("borrower", "non_borrower", "thin_file")
_HIST = 132  # months of calendar kept before the start (bureau files, old accounts)

CONSUMER_SCHEMA = pa.schema([
    ("consumer_id", pa.string()), ("latent_creditworthiness", pa.float64()), ("income_band", pa.string()),
    ("thin_file", pa.bool_()), ("never_borrows", pa.bool_()), ("segment", pa.string()),
])
CONSENT_SCHEMA = pa.schema([
    ("consumer_id", pa.string()), ("partner_id", pa.string()), ("event_type", pa.string()),
    ("granted_at", pa.timestamp("us", tz="UTC")),
])
OUTCOME_SCHEMA = pa.schema([("consumer_id", pa.string()), ("first_bad_date", pa.date32())])
#: Synthetic audit-only attributes (:meth:`_Chunk.audit`): for fairness tests, never events.
AUDIT_SCHEMA = pa.schema([("consumer_id", pa.string()), ("group", pa.string()), ("age_band", pa.string())])

# Latent risk (see the module docstring); tuned so that the out-of-time AUC of
# `credo demo` lands in the range of real credit data and ~10 % of scored
# snapshots go bad within a year.
_DRIFT_SD = 0.10            # monthly step of the random walk of circumstances
_NOISE_SD = 0.6             # month-to-month noise of stress
_SHOCK_RATE = 0.012         # life shocks per month at z = 0
_SHOCK_Z = 0.3              # hazard multiplier exp(-_SHOCK_Z * z)
_SHOCK_MONTHS = (2, 10)     # duration, months [low, high)
_SHOCK_SIZE = (1.0, 2.6)    # added stress
_DEFAULT = (-6.2, 1.5)      # P(default month) = sigmoid(a + b * stress)
_DEFAULT_TAKES = 0.8        # share of what falls due in a default month that goes unpaid
_UTIL_STRESS = 0.25         # utilisation (logit) rises with the month's stress beyond -z ...
_UTIL_NOISE = 0.5           # ... among a lot of month-to-month noise
_SERIOUS = (-1.6, 0.8)      # P(30–89 days | late) = sigmoid(a + b * stress)
# P(late) = sigmoid(a + b * stress) per kind of obligation
_LATE_BILL = (-2.6, 0.9)
_LATE_RENT = (-3.0, 0.9)
_LATE_ORDER = (-2.8, 0.9)
_LATE_RENTAL = (-3.0, 0.8)
_LATE_FEE = (-1.0, 0.9)     # a fee already reported unpaid is paid late more often than a bill
_NEVER_PAID = 0.75          # share of what is left in a default month (state 3) never paid
# Credit: P(miss a payment) when current / when already behind (besides default months).
_MISS_CURRENT = (-4.6, 0.9)
_MISS_ROLL = (-1.0, 0.9)
_CURE = 0.6
# Synthetic audit groups, drawn from a stream of their own (``default_rng([seed, chunk, _AUDIT_STREAM])``)
# so that drawing them moves no draw of behaviour: events, consents and outcomes are unchanged.
_AUDIT_STREAM = 1
_GROUP_B_BY_INCOME = np.array([0.70, 0.50, 0.30, 0.18, 0.10])  # P(group "B" | income band)
_AGE_EDGES = np.array([25, 35, 45, 55])
_AGE_BANDS = np.array(["under 25", "25-34", "35-44", "45-54", "55 and over"], dtype=object)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class Calendar:
    """Month boundaries as days since 1970-01-01, the last one exactly the end date.

    Boundaries fall on the end date's day of month (clamped to shorter months);
    ``_HIST`` months of history are kept before the start.
    """

    def __init__(self, end: date, months: int) -> None:
        mon = np.datetime64(end.replace(day=1), "M") + np.arange(-(months + _HIST), 1)
        first = mon.astype("datetime64[D]").astype(np.int64)
        length = (mon + 1).astype("datetime64[D]").astype(np.int64) - first
        self._firsts = first + np.minimum(end.day - 1, length - 1)
        self.months = months
        self.month_start = self._firsts[_HIST:]  # months + 1 entries (last = the end date)
        self.month_len = np.diff(self.month_start)
        self.moy = (mon[_HIST:-1].astype(np.int64) % 12).astype(np.int64)  # 0 = January
        self.start_day = int(self.month_start[0])
        self.end_day = int(self.month_start[-1])
        self.end_us = self.end_day * US_PER_DAY

    def first_day(self, month: np.ndarray) -> np.ndarray:
        """First day of month index ``month`` (negative = before the start)."""
        return self._firsts[np.asarray(month) + _HIST]

    def month_of(self, day: np.ndarray) -> np.ndarray:
        """Month index (may be < 0 or >= months) containing ``day``."""
        return np.searchsorted(self._firsts, day, side="right") - 1 - _HIST


class _Chunk:
    """State of one chunk while its events are drawn."""

    def __init__(self, config: SimulationConfig, chunk_index: int) -> None:
        self.config = config
        self.index = chunk_index
        self.first, last = config.chunk_bounds(chunk_index)
        self.n = last - self.first
        self.rng = np.random.default_rng([config.seed, chunk_index])
        self.cal = Calendar(config.end, config.months)
        self.parts: list[Part] = []

    # ------------------------------------------------------------------ helpers
    def secs(self, size: int) -> np.ndarray:
        """A time of day in UTC seconds (08:00–23:00 China time)."""
        return self.rng.integers(0, 15 * 3600, size)

    def at(self, day: np.ndarray, secs: np.ndarray | None = None) -> np.ndarray:
        day = np.asarray(day, dtype=np.int64)
        if secs is None:
            secs = self.secs(day.size)
        return day * US_PER_DAY + np.asarray(secs, dtype=np.int64) * US_PER_SECOND

    def arrival(self, occ: np.ndarray) -> np.ndarray:
        """Received time: mostly within hours, some days or weeks late."""
        rng, m = self.rng, occ.size
        lag = np.minimum(rng.exponential(2 * 3600, m), 2 * DAY_S).astype(np.int64) + 1
        u = rng.random(m)
        lag = np.where(u < 0.06, rng.integers(1 * DAY_S, 7 * DAY_S, m), lag)
        lag = np.where(u < 0.02, rng.integers(7 * DAY_S, 45 * DAY_S, m), lag)
        return occ + lag * US_PER_SECOND

    def day_in_month(self, month: np.ndarray) -> np.ndarray:
        cal = self.cal
        return cal.month_start[month] + (self.rng.random(month.size) * cal.month_len[month]).astype(np.int64)

    def obligation(self, cons: np.ndarray, month: np.ndarray, late: tuple[float, float]) -> np.ndarray:
        """How each obligation due in ``month`` is met: 0 on time, 1 late (under 30 days),
        2 seriously late (30–89 days), 3 not paid (90+ days or never)."""
        rng, m = self.rng, cons.size
        s = self.stress[cons, month]
        default = self.default[cons, month]
        is_late = rng.random(m) < _sigmoid(late[0] + late[1] * s)
        serious = is_late & (rng.random(m) < _sigmoid(_SERIOUS[0] + _SERIOUS[1] * s))
        state = is_late.astype(np.int8) + serious.astype(np.int8)
        unpaid = default & (rng.random(m) < _DEFAULT_TAKES)
        return np.where(unpaid, 3, np.where(default, 2, state)).astype(np.int8)

    def days_late(self, state: np.ndarray) -> np.ndarray:
        """Days after the due date a payment in ``state`` 1, 2 or 3 is made (3: 90–240, often after the end)."""
        rng, m = self.rng, state.size
        return np.select([state == 1, state == 2], [rng.integers(1, 30, m), rng.integers(30, 90, m)],
                         rng.integers(90, 241, m))

    def add(self, part: Part, keep: np.ndarray | None = None) -> Part:
        if keep is None:
            keep = part.occ < self.cal.end_us
        part = part.take(np.flatnonzero(keep))
        self.parts.append(part)
        return part

    @staticmethod
    def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of each unit of a count matrix."""
        flat = counts.ravel()
        idx = np.repeat(np.arange(flat.size), flat)
        return idx // counts.shape[1], idx % counts.shape[1]

    @staticmethod
    def ranks(groups: np.ndarray) -> np.ndarray:
        """0-based position of each element within its run of equal group values."""
        starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        lens = np.diff(np.r_[starts, groups.size])
        return np.arange(groups.size) - np.repeat(starts, lens)

    # ------------------------------------------------------------------ consumers
    def consumers(self) -> None:
        rng, n, M = self.rng, self.n, self.config.months
        self.z = rng.standard_normal(n)
        inc = 0.6 * self.z + 0.8 * rng.standard_normal(n)
        self.band = np.searchsorted(_BAND_CUTS, inc)
        self.income = _BAND_INCOME[self.band] * rng.lognormal(0.0, 0.2, n)
        self.thin = rng.random(n) < 0.08
        # about a fifth never borrow, a few more of them among the riskier: same latent scale as everyone
        self.never = self.thin | (rng.random(n) < _sigmoid(-1.45 - 0.25 * self.z))
        drift = np.cumsum(_DRIFT_SD * rng.standard_normal((n, M)), axis=1)
        # life shocks: a temporary rise of stress; their cause is never recorded
        onset = rng.random((n, M)) < (_SHOCK_RATE * np.exp(-_SHOCK_Z * self.z))[:, None]
        who, when = np.nonzero(onset)
        dur = rng.integers(*_SHOCK_MONTHS, who.size)
        size = rng.uniform(*_SHOCK_SIZE, who.size)
        each = np.repeat(np.arange(who.size), dur)
        month = when[each] + self.ranks(each) if each.size else each
        inside = month < M
        shock = np.zeros((n, M))
        np.maximum.at(shock, (who[each][inside], month[inside]), size[each][inside])
        season = _SEASON[self.cal.moy]
        squeeze = 0.25 * (np.r_[1.0, season[:-1]] - 1.0)  # the month after heavy spending
        self.stress = (shock - drift - self.z[:, None] + squeeze[None, :]
                       + _NOISE_SD * rng.standard_normal((n, M)))
        self.default = rng.random((n, M)) < _sigmoid(_DEFAULT[0] + _DEFAULT[1] * self.stress)

    # ------------------------------------------------------------------ identity and income
    def identity(self) -> None:
        rng, n, cal = self.rng, self.n, self.cal
        cons = np.arange(n)
        day = cal.start_day + rng.integers(0, 28, n)
        level = rng.choice(3, n, p=[0.35, 0.5, 0.15])
        up = np.flatnonzero((level < 2) & (rng.random(n) < 0.12))
        up_level = level[up] + rng.integers(1, 3 - level[up])
        up_day = day[up] + rng.integers(20, max(21, cal.end_day - cal.start_day - 28), up.size)
        self.add(Part("identity.verified", P_IDV, np.r_[cons, up], self.at(np.r_[day, up_day]),
                      {"level": np.r_[level, up_level]}))

    def income_verified(self) -> None:
        rng, n = self.rng, self.n
        has = ~self.thin & (rng.random(n) < np.where(self.never, 0.35, 0.7))
        cons = np.flatnonzero(has)
        month = rng.integers(0, self.config.months, cons.size)
        band = np.clip(self.band[cons] + rng.choice([-1, 0, 1], cons.size, p=[0.08, 0.84, 0.08]), 0, 4)
        self.add(Part("income.verified", P_INC, cons, self.at(self.day_in_month(month)), {"band": band}))

    # ------------------------------------------------------------------ orders
    def orders(self) -> None:
        rng, n, cal, M = self.rng, self.n, self.cal, self.config.months
        rate = np.array([0.6, 0.9, 1.2, 1.5, 1.9])[self.band] * rng.lognormal(-0.125, 0.5, n)
        counts = rng.poisson(rate[:, None] * _SEASON[cal.moy][None, :])
        counts[self.thin] = 0
        thin = np.flatnonzero(self.thin)
        nt = rng.integers(1, 4, thin.size)
        np.add.at(counts, (np.repeat(thin, nt), rng.integers(0, M, nt.sum())), 1)
        cons, month = self.expand(counts)
        m = cons.size
        day = self.day_in_month(month)
        occ = self.at(day)
        median = np.array([4_000, 6_000, 9_000, 12_000, 16_000])[self.band[cons]]
        amount = np.clip(np.round(median * _SEASON[cal.moy[month]] * rng.lognormal(0.0, 0.9, m)), 100, 3_000_000)
        amount = amount.astype(np.int64)
        u = rng.random(m)
        plan = (u < 0.06 + 0.25 * (amount > 50_000)) & ~self.thin[cons]
        later = ~plan & (u > 0.75)
        inst = np.where(plan, rng.choice([3, 6, 12], m, p=[0.5, 0.3, 0.2]), 1)
        first_due = np.where(plan | later, day + 30, DATE_NULL)
        mcc = rng.choice(len(ENUMS["merchant_category"]), m,
                         p=[0.3, 0.15, 0.08, 0.12, 0.12, 0.04, 0.08, 0.06, 0.03, 0.02])
        ref = np.arange(m)
        self.add(Part("order.placed", P_MKT, cons, occ, {
            "order_ref": ref, "amount": amount, "instalments": inst,
            "first_due_date": first_due, "merchant_category": mcc}))

        # instalment payments
        owed = np.flatnonzero(plan | later)
        k = inst[owed]
        o = np.repeat(owed, k)
        j = self.ranks(o)
        per = amount[o] // inst[o]
        amt = np.where(j == inst[o] - 1, amount[o] - per * (inst[o] - 1), per)
        due = first_due[o].astype(np.int64) + 30 * j
        due_month = np.clip(cal.month_of(due), 0, M - 1)
        state = self.obligation(cons[o], due_month, _LATE_ORDER)
        on_time = due - rng.integers(0, 8, o.size)
        paid = np.where(state == 0, on_time, np.where(state == 3, DATE_NULL, due + self.days_late(state)))
        occ_day = np.where(state == 3, due + 30, paid)  # an unpaid instalment is reported 30 days on
        self.add(Part("order.payment", P_MKT, cons[o], self.at(occ_day), {
            "order_ref": ref[o], "instalment": j + 1, "amount": amt, "due_date": due, "paid_date": paid}))

        # refunds and chargebacks
        r = np.flatnonzero(rng.random(m) < 0.06)
        full = rng.random(r.size) < 0.6
        ramt = np.where(full, amount[r], np.maximum(1, np.round(amount[r] * rng.uniform(0.1, 0.9, r.size))))
        self.add(Part("order.refund", P_MKT, cons[r], self.at(day[r] + rng.integers(2, 21, r.size)),
                      {"order_ref": ref[r], "amount": ramt}))
        cb = np.flatnonzero(rng.random(m) < 0.003 * np.exp(-0.5 * self.z[cons]))
        reason = rng.choice(5, cb.size, p=[0.3, 0.3, 0.2, 0.1, 0.1])
        self.add(Part("order.chargeback", P_MKT, cons[cb], self.at(day[cb] + rng.integers(10, 61, cb.size)),
                      {"order_ref": ref[cb], "amount": amount[cb], "reason": reason}))

    # ------------------------------------------------------------------ bills
    def bills(self) -> None:
        rng, n, cal, M = self.rng, self.n, self.cal, self.config.months
        issued_parts, paid_parts = [], []
        next_ref = 0
        for kind, partner, p_has in ((0, P_PWR, 0.85), (1, P_TEL, 0.92), (2, P_LLD, None)):
            if p_has is None:  # renters: more common at lower income
                p_has = np.array([0.5, 0.45, 0.35, 0.25, 0.15])[self.band]
            has = ~self.thin & (rng.random(n) < p_has)
            holders = np.flatnonzero(has)
            h = holders.size
            offset = rng.integers(0, 28, h)
            if kind == 0:
                base = rng.uniform(6_000, 30_000, h) * (0.8 + 0.1 * self.band[holders])
            elif kind == 1:
                base = rng.choice([3_900, 5_900, 8_900, 12_900, 19_900], h, p=[0.2, 0.3, 0.25, 0.15, 0.1]).astype(float)
            else:
                base = np.array([80_000, 150_000, 250_000, 400_000, 700_000])[self.band[holders]] * rng.lognormal(0, 0.25, h)
                base = np.round(base / 10_000) * 10_000
            cons = np.repeat(holders, M)
            hi = np.repeat(np.arange(h), M)
            month = np.tile(np.arange(M), h)
            issue = cal.month_start[month] + offset[hi]
            if kind == 0:
                amount = np.round(base[hi] * _UTIL_SEASON[cal.moy[month]] * rng.lognormal(0, 0.12, cons.size))
            elif kind == 1:
                amount = base[hi] + (rng.random(cons.size) < 0.1) * rng.integers(500, 3_000, cons.size)
            else:
                amount = base[hi]
            amount = np.maximum(amount, 100).astype(np.int64)
            due = issue + (5 if kind == 2 else 15)
            state = self.obligation(cons, month, _LATE_RENT if kind == 2 else _LATE_BILL)
            on_time = np.maximum(issue, due - rng.integers(0, 10, cons.size))
            paid = np.where(state == 0, on_time, due + self.days_late(state))
            # most bills left in a default month are never paid; some are, months later
            unpaid = (state == 3) & (rng.random(cons.size) < _NEVER_PAID)
            ref = next_ref + np.arange(cons.size)
            next_ref += cons.size
            issued_parts.append(Part("bill.issued", partner, cons, self.at(issue), {
                "bill_ref": ref, "bill_kind": np.full(cons.size, kind), "amount": amount, "due_date": due}))
            pk = np.flatnonzero(~unpaid)
            paid_parts.append(Part("bill.paid", partner, cons[pk], self.at(paid[pk]), {
                "bill_ref": ref[pk], "bill_kind": np.full(pk.size, kind), "amount": amount[pk],
                "paid_date": paid[pk]}))
        self.add(concat_parts(issued_parts))
        self.add(concat_parts(paid_parts))

    # ------------------------------------------------------------------ credit
    def credit(self) -> None:
        rng, cal, M = self.rng, self.cal, self.config.months
        borrowers = np.flatnonzero(~self.never)
        n_acc = 1 + np.minimum(rng.poisson(0.6 + 0.3 * (self.band[borrowers] >= 3)), 3)
        cons = np.repeat(borrowers, n_acc)
        a = cons.size
        first = self.ranks(cons) == 0
        z = self.z[cons]
        income = self.income[cons]
        product = rng.choice(5, a, p=[0.4, 0.08, 0.25, 0.25, 0.02])
        product = np.where((product == PRODUCT["mortgage"]) & (self.band[cons] < 3), PRODUCT["instalment_loan"], product)
        partner = np.where(np.isin(product, [PRODUCT["credit_card"], PRODUCT["bnpl_line"]]), P_CARD, P_LOAN)
        is_loan = np.isin(product, [PRODUCT["instalment_loan"], PRODUCT["mortgage"]])
        term = np.where(product == PRODUCT["mortgage"], rng.choice([120, 240, 360], a),
                        np.where(is_loan, rng.choice([6, 12, 24, 36], a), -1))
        # months of credit history before the first account: longer for the more creditworthy
        history = rng.gamma(2.0, 15.0 * np.exp(0.4 * self.z[borrowers]))
        o_first = np.clip(np.round(0.4 * M - history), -120, M - 2).astype(np.int64)[np.repeat(
            np.arange(borrowers.size), n_acc)]
        o = np.where(first, o_first, o_first + (rng.random(a) * (M - o_first)).astype(np.int64))
        o = np.where(is_loan, np.maximum(o, -(term - 2)), o)
        dom = rng.integers(0, 28, a)
        open_day = cal.first_day(o) + dom
        underwriting = np.exp(0.25 * np.clip(z, -2, 2))
        raw = np.select(
            [product == PRODUCT["credit_card"], product == PRODUCT["bnpl_line"],
             product == PRODUCT["revolving_line"], product == PRODUCT["instalment_loan"]],
            [income * rng.uniform(1, 3, a), income * rng.uniform(0.3, 1, a),
             income * rng.uniform(1, 4, a), income * rng.uniform(1, 6, a)],
            income * 12 * rng.uniform(3, 8, a)) * underwriting
        unit = np.where(product == PRODUCT["mortgage"], 1_000_000, np.where(is_loan, 100_000, 10_000))
        limit = np.maximum(np.round(raw / unit), 1).astype(np.int64) * unit
        inst_amt = np.where(is_loan, -(-limit // np.maximum(term, 1)), 0)
        ref = np.arange(a)

        occ_open = self.at(open_day)
        rec_open = np.where(o < 0, (cal.start_day * US_PER_DAY
                                    + rng.integers(0, 14 * DAY_S, a) * US_PER_SECOND), self.arrival(occ_open))
        self.add(Part("credit.opened", partner, cons, occ_open, {
            "account_ref": ref, "product": product, "limit": limit, "opened_date": open_day,
            "term_months": np.where(is_loan, term, -1)}, rec=rec_open))

        # inquiries before each new account, and applications that led nowhere
        new = np.flatnonzero(o >= 0)
        ni = 1 + (rng.random(new.size) < 0.3)
        acc = np.repeat(new, ni)
        iday = np.maximum(open_day[acc] - rng.integers(1, 15, acc.size), cal.start_day)
        lam = 0.3 * np.exp(-0.6 * self.z[borrowers])
        nd = rng.poisson(lam)
        dcons = np.repeat(borrowers, nd)
        dprod = rng.choice(5, dcons.size, p=[0.45, 0.1, 0.2, 0.25, 0.0])
        dday = cal.start_day + rng.integers(0, cal.end_day - cal.start_day, dcons.size)
        iprod = np.r_[product[acc], dprod]
        ipartner = np.where(np.isin(iprod, [PRODUCT["credit_card"], PRODUCT["bnpl_line"]]), P_CARD, P_LOAN)
        icons = np.r_[cons[acc], dcons]
        self.add(Part("credit.inquiry", ipartner, icons, self.at(np.r_[iday, dday]),
                      {"application_ref": np.arange(icons.size), "product": iprod}))

        # monthly cycle: status, statement, payment; delinquency state machine
        util_logit = -0.9 - 0.6 * z + 0.6 * rng.standard_normal(a)  # utilisation rises with stress
        d = np.zeros(a, dtype=np.int64)
        alive = np.ones(a, dtype=bool)
        n_paid = np.where(is_loan, np.maximum(0, -(o + 1)), 0)
        first_stmt = np.maximum(o + 1, 0)
        out: dict[str, list] = {k: [] for k in ("status", "stmt", "pay", "co", "closed")}
        for k in range(M):
            ia = np.flatnonzero(alive & (first_stmt <= k))
            if ia.size == 0:
                continue
            sd = cal.month_start[k] + dom[ia]
            dk = d[ia]
            out["status"].append((ia, sd, 30 * dk))
            remaining = np.maximum(limit[ia] - n_paid[ia] * inst_amt[ia], 0)
            s_now = self.stress[cons[ia], k]
            util = np.clip(_sigmoid(util_logit[ia] + _UTIL_STRESS * (s_now + z[ia])
                                    + _UTIL_NOISE * rng.standard_normal(ia.size)) + 0.1 * np.minimum(dk, 3), 0.01, 1.0)
            loan = is_loan[ia]
            bal = np.where(loan, remaining, np.round(util * limit[ia]).astype(np.int64))
            co = (dk >= 5) | ((dk == 4) & (rng.random(ia.size) < 0.35))  # 120+ days: charge-off
            if co.any():
                out["co"].append((ia[co], sd[co], bal[co]))
                alive[ia[co]] = False
            keep = ~co
            ia, sd, dk, bal, loan = ia[keep], sd[keep], dk[keep], bal[keep], loan[keep]
            rev_min = np.minimum(bal, np.maximum(np.round(0.05 * bal * (1 + dk)).astype(np.int64), 5_000))
            min_due = np.where(loan, np.minimum(inst_amt[ia] * (1 + dk), bal), rev_min)
            due = sd + np.where(loan, 15, 20)
            out["stmt"].append((ia, sd, bal, min_due, due))
            c = -self.stress[cons[ia], k]
            p_miss = np.where(dk == 0, _sigmoid(_MISS_CURRENT[0] - _MISS_CURRENT[1] * c),
                              _sigmoid(_MISS_ROLL[0] - _MISS_ROLL[1] * c))
            stop = self.default[cons[ia], k] & (rng.random(ia.size) < _DEFAULT_TAKES)
            miss = (stop | (rng.random(ia.size) < p_miss)) & (bal > 0)
            pay = ~miss & (bal > 0)
            cure = pay & (dk > 0) & (rng.random(ia.size) < _CURE)
            d[ia] = np.where(miss, dk + 1, np.where(cure, 0, dk))
            full = rng.random(ia.size) < _sigmoid(0.3 + 0.9 * c)
            rev_amt = np.where(full, bal, min_due + np.round(rng.random(ia.size) * (bal - min_due)).astype(np.int64))
            loan_amt = np.where(cure, min_due, np.minimum(inst_amt[ia], bal))
            amt = np.where(loan, loan_amt, rev_amt)
            n_paid[ia] += np.where(loan & pay, np.where(cure, 1 + dk, 1), 0)
            paid_day = np.where(rng.random(ia.size) < 0.08 * _sigmoid(-c), due + rng.integers(1, 20, ia.size),
                                np.maximum(sd + 1, due - rng.integers(0, 12, ia.size)))
            pi = np.flatnonzero(pay)
            out["pay"].append((ia[pi], paid_day[pi], amt[pi]))
            # closures: loans paid off; lines closed on request; lender closes after a bad spell
            done = loan & pay & (n_paid[ia] >= term[ia])
            request = ~loan & pay & full & (dk == 0) & (rng.random(ia.size) < 0.006)
            lender = cure & (dk >= 2) & (rng.random(ia.size) < 0.2)
            closing = done | request | lender
            ci = np.flatnonzero(closing)
            reason = np.where(done, REASON["paid_off"], np.where(request, REASON["consumer_request"],
                                                                  REASON["lender_closed"]))[ci]
            out["closed"].append((ia[ci], paid_day[ci] + rng.integers(0, 5, ci.size), reason))
            alive[ia[ci]] = False

        def cat(key: str, i: int) -> np.ndarray:
            return np.concatenate([t[i] for t in out[key]]) if out[key] else np.zeros(0, np.int64)

        ia, sd, dpd = (cat("status", i) for i in range(3))
        self.add(Part("credit.status", partner[ia], cons[ia], self.at(sd), {
            "account_ref": ref[ia], "as_of_date": sd, "days_past_due": dpd}))
        ia, sd, bal, min_due, due = (cat("stmt", i) for i in range(5))
        self.add(Part("credit.statement", partner[ia], cons[ia], self.at(sd), {
            "account_ref": ref[ia], "statement_date": sd, "balance": bal, "minimum_due": min_due,
            "due_date": due}))
        ia, day, amt = (cat("pay", i) for i in range(3))
        self.add(Part("credit.payment", partner[ia], cons[ia], self.at(day), {
            "account_ref": ref[ia], "amount": amt, "paid_date": day}))
        ia, day, amt = (cat("co", i) for i in range(3))
        self.add(Part("credit.charged_off", partner[ia], cons[ia], self.at(day), {
            "account_ref": ref[ia], "amount": amt, "charged_off_date": day}))
        ia, day, reason = (cat("closed", i) for i in range(3))
        self.add(Part("credit.closed", partner[ia], cons[ia], self.at(day), {
            "account_ref": ref[ia], "closed_date": day, "reason": reason}))

    # ------------------------------------------------------------------ rentals and rides
    def rentals(self) -> None:
        rng, n, M = self.rng, self.n, self.config.months
        started, returned, unpaid, settled = [], [], [], []
        next_ref = 0
        for partner, share, rate in ((P_BIKE, 0.35, 1.0), (P_RIDE, 0.45, 1.2)):
            user = ~self.thin & (rng.random(n) < share)
            lam = np.where(user, rate * rng.lognormal(-0.125, 0.5, n), 0.0)
            counts = rng.poisson(lam[:, None] * np.ones(self.config.months)[None, :])
            cons, month = self.expand(counts)
            m = cons.size
            start = self.at(self.day_in_month(month), rng.integers(0, DAY_S, m))
            if partner == P_BIKE:
                kind = rng.choice([RENTAL["bike"], RENTAL["power_bank"], RENTAL["umbrella"]], m, p=[0.6, 0.3, 0.1])
                hours = np.select([kind == RENTAL["bike"], kind == RENTAL["power_bank"]], [4, 24], 48)
                waived = (self.z[cons] + 0.5 * rng.standard_normal(m)) > -1.0
                fee = np.where(kind == RENTAL["bike"], rng.integers(500, 3_000, m), rng.integers(1_000, 9_900, m))
                lost_fee = rng.integers(9_900, 29_900, m)
            else:
                kind = np.full(m, RENTAL["ride"])
                hours = np.full(m, 24)
                waived = np.ones(m, dtype=bool)
                fee = rng.integers(1_500, 8_000, m)
                lost_fee = fee
            due_back = start + hours.astype(np.int64) * 3600 * US_PER_SECOND
            state = self.obligation(cons, month, _LATE_RENTAL)  # 3 = never returned / never settled
            span_s = (due_back - start) // US_PER_SECOND
            early = start + (rng.uniform(0.05, 0.95, m) * span_s).astype(np.int64) * US_PER_SECOND
            late_by = (np.minimum(rng.exponential(12 * 3600, m), 5 * DAY_S).astype(np.int64) + 60) * US_PER_SECOND
            ret = np.where(state == 0, early, due_back + late_by)
            ref = next_ref + np.arange(m)
            next_ref += m
            started.append(Part("rental.started", partner, cons, start, {
                "rental_ref": ref, "rental_kind": kind, "deposit_waived": waived, "due_back_at": due_back}))
            ri = np.flatnonzero(state < 3)
            returned.append(Part("rental.returned", partner, cons[ri], ret[ri], {
                "rental_ref": ref[ri], "rental_kind": kind[ri], "returned_at": ret[ri],
                "on_time": state[ri] == 0}))
            # a fee not collected when due is reported unpaid the day after: the charge for what was
            # never returned or settled, or the overtime fee of a seriously late return
            ui = np.flatnonzero(state >= 2)
            fee_due = due_back[ui] // US_PER_DAY + 7
            amount = np.where(state[ui] == 3, lost_fee[ui], fee[ui])
            reported = self.at(fee_due + 1)
            reported_rec = self.arrival(reported)
            unpaid.append(Part("rental.fee_unpaid", partner, cons[ui], reported, {
                "rental_ref": ref[ui], "rental_kind": kind[ui], "amount": amount, "due_date": fee_due},
                rec=reported_rec))
            # ... and mostly paid later, by the stress of the month it fell due in; the partner reports
            # the payment after the unpaid fee, never before
            pay = self.obligation(cons[ui], np.clip(self.cal.month_of(fee_due), 0, M - 1), _LATE_FEE)
            paid = fee_due + np.where(pay == 0, rng.integers(2, 15, ui.size), np.maximum(self.days_late(pay), 2))
            pk = np.flatnonzero((pay < 3) | (rng.random(ui.size) >= _NEVER_PAID))
            occ = self.at(paid[pk])
            rec = np.maximum(self.arrival(occ), reported_rec[pk] + 60 * US_PER_SECOND)
            settled.append(Part("rental.fee_paid", partner, cons[ui[pk]], occ, {
                "rental_ref": ref[ui[pk]], "rental_kind": kind[ui[pk]], "amount": amount[pk],
                "paid_date": paid[pk]}, rec=rec))
        for parts in (started, returned, unpaid, settled):
            self.add(concat_parts(parts))

    # ------------------------------------------------------------------ bureau
    def bureau(self) -> None:
        """Quarterly snapshots of tradelines held elsewhere.

        History before the start shows as the worst delinquency of the last 24
        months (rarely already derogatory); during the simulation an open
        tradeline follows its holder: from the first default month it falls
        behind, 90+ days three months later, and in collection or charged off
        after that.
        """
        rng, n, cal, M = self.rng, self.n, self.cal, self.config.months
        has = ~self.thin & (rng.random(n) < np.where(self.never, 0.3, 0.9))
        holders = np.flatnonzero(has)
        nt = np.where(self.never[holders], 1, 1 + rng.poisson(0.8, holders.size))
        cons = np.repeat(holders, nt)
        t = cons.size
        z = self.z[cons]
        kind = rng.choice(5, t, p=[0.45, 0.1, 0.3, 0.1, 0.05])
        age = np.clip(np.round(rng.gamma(2.0, 18.0 * np.exp(0.35 * z))), 6, _HIST - 1).astype(np.int64)
        opened = cal.first_day(-age) + rng.integers(0, 28, t)
        old_bad = ~self.never[cons] & (rng.random(t) < _sigmoid(-4.6 - 1.2 * z))
        status = np.where(self.never[cons], STATUS["closed"],
                          np.where(rng.random(t) < 0.6, STATUS["open"], STATUS["closed"]))
        status = np.where(old_bad, np.where(rng.random(t) < 0.5, STATUS["charged_off"], STATUS["collection"]),
                          status)
        late = rng.random(t) < _sigmoid(-2.2 - 1.3 * z)
        worst = np.where(late, rng.choice([30, 60], t, p=[0.7, 0.3]), 0)
        worst = np.where(old_bad, rng.choice([120, 150, 180], t), worst)
        limit = (np.maximum(np.round(self.income[cons] * rng.uniform(1, 4, t) / 10_000), 1) * 10_000).astype(np.int64)
        util = -0.9 - 0.6 * z + 0.6 * rng.standard_normal(t)
        # an open tradeline goes bad with its holder's first default month (most of the time)
        defaults = self.default[cons]
        first_default = np.where(defaults.any(axis=1), defaults.argmax(axis=1), M + 99)
        falls = (status == STATUS["open"]) & (rng.random(t) < 0.7)
        fell = np.where(falls, first_default, M + 99)
        gone = np.where(rng.random(t) < 0.5, STATUS["charged_off"], STATUS["collection"])
        quarters = np.arange(0, M, 3)
        q = quarters.size
        tl = np.repeat(np.arange(t), q)
        qm = np.tile(quarters, t)
        as_of = cal.month_start[qm] + 4
        behind = np.maximum(qm - fell[tl], 0)  # months since it fell behind
        dpd = np.where(qm >= fell[tl], np.minimum(30 * (behind + 1), 180), 0)
        st = np.where(behind >= 5, gone[tl], status[tl])
        w = np.maximum(worst[tl], dpd)
        snap_util = _sigmoid(util[tl] + _UTIL_STRESS * (self.stress[cons[tl], qm] + z[tl])
                             + _UTIL_NOISE * rng.standard_normal(tl.size))
        balance = np.select([st == STATUS["open"], st == STATUS["closed"]],
                            [np.round(snap_util * limit[tl]), 0], np.round(limit[tl] * 0.8)).astype(np.int64)
        occ = self.at(as_of)
        rec = occ + rng.integers(1 * DAY_S, 6 * DAY_S, tl.size) * US_PER_SECOND
        self.add(Part("bureau.tradeline", P_BUR, cons[tl], occ, {
            "tradeline_ref": tl, "account_kind": kind[tl], "status": st, "opened_date": opened[tl],
            "as_of_date": as_of, "credit_limit": limit[tl], "balance": balance,
            "worst_days_past_due_24m": w}, rec=rec))

    # ------------------------------------------------------------------ corrections and retractions
    _CORRECTABLE = frozenset({"order.placed", "order.payment", "bill.paid", "credit.payment",
                              "credit.statement", "credit.status"})
    _DUPLICABLE = frozenset({"order.placed", "order.payment", "bill.issued", "bill.paid",
                             "credit.payment", "rental.started", "rental.fee_unpaid", "rental.fee_paid",
                             "bureau.tradeline"})

    def _corrupt(self, part: Part, sel: np.ndarray) -> None:
        """Make the originally reported values of ``sel`` wrong (the correction carries the truth)."""
        cols = part.cols
        if part.etype == "order.payment":
            cols["paid_date"][sel] = DATE_NULL
        elif part.etype == "credit.status":
            cols["days_past_due"][sel] = 30
        elif part.etype == "credit.statement":
            cols["balance"][sel] = cols["balance"][sel] * 2 + 100
        elif part.etype == "credit.payment":
            cols["amount"][sel] = cols["amount"][sel] // 10
        else:  # order.placed, bill.paid: a slipped digit
            cols["amount"][sel] = cols["amount"][sel] * 10

    def _eligible_for_correction(self, part: Part) -> np.ndarray:
        if part.etype == "order.payment":
            return part.cols["paid_date"] != DATE_NULL
        if part.etype == "credit.status":
            return part.cols["days_past_due"] == 0
        return np.ones(len(part), dtype=bool)

    def revisions(self) -> None:
        """Add corrections (true values, the original made wrong), duplicates and their retractions.

        After this, ``Part.corrects`` / ``Part.retracts`` hold global row indices
        into the concatenation of ``self.parts``.
        """
        rng, end = self.rng, self.cal.end_us
        base = self.parts
        sizes = [len(p) for p in base]
        offsets = np.cumsum([0] + sizes)
        fixes: list[Part] = []
        dups: list[Part] = []
        for bi, part in enumerate(base):
            m = len(part)
            u = rng.random(m)
            if part.etype in self._CORRECTABLE:  # only where the correction arrives before the end
                fixed_at = part.rec + rng.integers(1 * DAY_S, 46 * DAY_S, m) * US_PER_SECOND
                sel = np.flatnonzero((u < 0.004) & self._eligible_for_correction(part) & (fixed_at < end))
                fix = part.take(sel)
                self._corrupt(part, sel)
                fix.rec = fixed_at[sel]
                fix.corrects = offsets[bi] + sel
                fixes.append(fix)
            if part.etype in self._DUPLICABLE:
                # early enough for the duplicate (2 h) and its retraction (20 days + 2 h) to arrive before the end
                sel = np.flatnonzero((u >= 0.004) & (u < 0.0065) & (part.rec < end - 21 * DAY_S * US_PER_SECOND))
                dup = part.take(sel)
                dup.rec = dup.rec + rng.integers(60, 7_200, sel.size) * US_PER_SECOND
                dups.append(dup)
        parts = base + fixes
        first_dup = sum(len(p) for p in parts)
        parts += dups
        n_dup = sum(len(p) for p in dups)
        if n_dup:
            targets = first_dup + np.arange(n_dup)
            t_partner = np.concatenate([p.partner for p in dups])
            t_cons = np.concatenate([p.cons for p in dups])
            t_rec = np.concatenate([p.rec for p in dups])
            lag = rng.integers(1 * DAY_S, 20 * DAY_S, n_dup) * US_PER_SECOND
            occ = t_rec + lag
            reason = rng.choice([REASON["duplicate"], REASON["reported_in_error"], REASON["dispute_resolved"],
                                 REASON["identity_fraud"]], n_dup, p=[0.7, 0.18, 0.08, 0.04])
            rec = occ + rng.integers(60, 7_200, n_dup) * US_PER_SECOND
            parts.append(Part("event.retraction", t_partner, t_cons, occ, {"reason": reason}, rec=rec,
                              retracts=targets))
        self.parts = parts

    # ------------------------------------------------------------------ tables
    def consumer_ids(self) -> pa.Array:
        nums = pa.array(np.arange(self.first, self.first + self.n, dtype=np.int64))
        return pc.binary_join_element_wise("c", pc.utf8_lpad(pc.cast(nums, pa.string()), 9, "0"), "-")

    def arrivals(self) -> None:
        """Give every event its received time; what would arrive on or after the end does not exist yet."""
        end = self.cal.end_us
        for i, part in enumerate(self.parts):
            if part.rec is None:
                part.rec = self.arrival(part.occ)
            self.parts[i] = part.take(np.flatnonzero(part.rec < end))

    def bad_dates(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """(consumer, day) of each bad event per source of :data:`credo.policy.outcome.BAD_EVENT_SOURCES`.

        Read from the events as they arrived (before corrections make some
        originals wrong): the same facts, with hindsight, that
        :func:`credo.features.training.first_bad_dates` reads. Days on or after
        the end are not known yet and left out.
        """
        parts = {p.etype: p for p in self.parts}
        dpd = BAD_DAYS_PAST_DUE

        def rows(etype: str, bad: np.ndarray | None, day: str, shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
            part = parts[etype]
            keep = np.ones(len(part), dtype=bool) if bad is None else bad
            return part.cons[keep], part.cols[day][keep].astype(np.int64) + shift

        def unpaid_at_90(owed: str, paid: str, ref: str) -> np.ndarray:
            """Whether each ``owed`` event is still unpaid (no ``paid`` event for its ``ref``) at due + 90.

            References are unique per chunk across partners, so the reference alone finds the payment.
            """
            debts, payments = parts[owed], parts[paid]
            refs = max(int(debts.cols[ref].max(initial=-1)), int(payments.cols[ref].max(initial=-1))) + 1
            never = np.iinfo(np.int64).max
            paid_on = np.full(refs, never, dtype=np.int64)
            np.minimum.at(paid_on, payments.cols[ref], payments.cols["paid_date"].astype(np.int64))
            return paid_on[debts.cols[ref]] >= debts.cols["due_date"].astype(np.int64) + dpd

        status, tradeline = parts["credit.status"], parts["bureau.tradeline"]
        instalment = parts["order.payment"].cols
        derogatory = np.isin(tradeline.cols["status"], [STATUS["charged_off"], STATUS["collection"]])
        found = {
            "credit_status": rows("credit.status", status.cols["days_past_due"] >= dpd, "as_of_date"),
            "charge_off": rows("credit.charged_off", None, "charged_off_date"),
            "bureau": rows("bureau.tradeline", (tradeline.cols["worst_days_past_due_24m"] >= dpd) | derogatory,
                           "as_of_date"),
            "bill": rows("bill.issued", unpaid_at_90("bill.issued", "bill.paid", "bill_ref"), "due_date", dpd),
            "order_instalment": rows("order.payment", (instalment["paid_date"] == DATE_NULL)
                                     | (instalment["paid_date"] >= instalment["due_date"].astype(np.int64) + dpd),
                                     "due_date", dpd),
            "rental_fee": rows("rental.fee_unpaid", unpaid_at_90("rental.fee_unpaid", "rental.fee_paid", "rental_ref"),
                               "due_date", dpd),
        }
        end = self.cal.end_day
        return {code: (c[d < end], d[d < end]) for code, (c, d) in found.items()}

    def outcomes(self, ids: pa.Array) -> pa.Table:
        """Each consumer's first bad date under the published definition (null: never bad in the data)."""
        never = np.iinfo(np.int32).max
        first_bad = np.full(self.n, never, dtype=np.int64)
        for cons, day in self.bad_dates().values():
            np.minimum.at(first_bad, cons, day)
        none = first_bad == never
        return pa.table({
            "consumer_id": ids,
            "first_bad_date": pa.array(first_bad.astype(np.int32), type=pa.date32(), mask=none),
        }, schema=OUTCOME_SCHEMA)

    def consents(self, ids: pa.Array) -> pa.Table:
        plist = partners()
        n_p = len(PARTNER_IDS)
        first_rec = np.full(self.n * n_p, np.iinfo(np.int64).max, dtype=np.int64)
        for p in self.parts:
            np.minimum.at(first_rec, p.cons * n_p + p.partner.astype(np.int64), p.rec)
        uniq = np.flatnonzero(first_rec != np.iinfo(np.int64).max)
        granted = (first_rec[uniq] // US_PER_SECOND - 3600) * US_PER_SECOND
        ucons, upart = uniq // len(PARTNER_IDS), uniq % len(PARTNER_IDS)
        n_types = np.array([len(p["event_types"]) for p in plist])
        type_off = np.r_[0, np.cumsum(n_types)[:-1]]
        flat_types = pa.array([t for p in plist for t in p["event_types"]])
        k = n_types[upart]
        row = np.repeat(np.arange(uniq.size), k)
        within = self.ranks(row) if row.size else row
        return pa.table({
            "consumer_id": pc.take(ids, pa.array(ucons[row])),
            "partner_id": pc.take(pa.array(PARTNER_IDS), pa.array(upart[row])),
            "event_type": pc.take(flat_types, pa.array(type_off[upart[row]] + within)),
            "granted_at": pa.array(granted[row], type=pa.timestamp("us", tz="UTC")),
        }, schema=CONSENT_SCHEMA)

    def consumers_table(self, ids: pa.Array) -> pa.Table:
        segment = np.where(self.thin, 2, np.where(self.never, 1, 0))
        return pa.table({
            "consumer_id": ids,
            "latent_creditworthiness": pa.array(self.z),
            "income_band": pc.take(pa.array(BANDS), pa.array(self.band)),
            "thin_file": pa.array(self.thin),
            "never_borrows": pa.array(self.never),
            "segment": pc.take(pa.array(SEGMENTS), pa.array(segment)),
        }, schema=CONSUMER_SCHEMA)

    def audit(self, ids: pa.Array) -> pa.Table:
        """Synthetic audit-only attributes, correlated with behaviour the way real groups are: through
        circumstances, never through the group itself (the behaviour model never reads them).

        ``group`` ("A" or "B", a stand-in for a protected group) is more often "B" at lower income bands,
        and so, through income's tie to creditworthiness, among the riskier; ``age_band``: thin files
        are younger and the more creditworthy older, as credit histories lengthen with age."""
        rng = np.random.default_rng([self.config.seed, self.index, _AUDIT_STREAM])
        group = np.where(rng.random(self.n) < _GROUP_B_BY_INCOME[self.band], "B", "A").astype(object)
        age = 21 + 45 * rng.beta(2.0, 3.0, self.n) + 4.0 * self.z - 8.0 * self.thin
        age_band = _AGE_BANDS[np.searchsorted(_AGE_EDGES, np.clip(age, 18, 90), side="right")]
        return pa.table({"consumer_id": ids, "group": pa.array(group, pa.string()),
                         "age_band": pa.array(age_band, pa.string())}, schema=AUDIT_SCHEMA)

    def run(self) -> SimulationChunk:
        self.consumers()
        self.identity()
        self.income_verified()
        self.orders()
        self.bills()
        self.credit()
        self.rentals()
        self.bureau()
        self.arrivals()
        ids = self.consumer_ids()
        outcomes = self.outcomes(ids)
        self.revisions()
        consents = self.consents(ids)
        events = assemble(self.parts, self.index, ids, self.config.currency)
        self.parts = []
        return SimulationChunk(self.index, self.first, self.consumers_table(ids), consents, events, outcomes,
                               self.audit(ids))


def simulate_chunk(config: SimulationConfig, chunk_index: int) -> SimulationChunk:
    """Simulate chunk ``chunk_index`` of the population (independent of every other chunk)."""
    if not 0 <= chunk_index < max(config.n_chunks, 1):
        raise IndexError(chunk_index)
    return _Chunk(config, chunk_index).run()


__all__ = ["AUDIT_SCHEMA", "CONSENT_SCHEMA", "CONSUMER_SCHEMA", "OUTCOME_SCHEMA", "Calendar", "TS_NULL", "simulate_chunk"]
