"""The generative model: latent consumers and the events their behaviour produces.

Everything is vectorised over consumers, orders, bills, accounts…; the only
Python loop of the hot path runs over *months* (the delinquency state machine
of credit accounts), each step vectorised over the accounts.

Latent truth per consumer (kept apart from events):

* ``z`` ~ N(0, 1) creditworthiness; the income band is correlated with it;
* monthly capacity ``c = z - shock + noise - post-holiday squeeze``, where a
  *life shock* (job loss, illness…) is only a temporary drop in capacity — no
  cause is ever recorded or emitted;
* thin-file consumers (identity and a couple of orders) and consumers who
  never borrow (no ``credit.*`` events, but bills, orders, rentals).

Every late / missed / delinquent outcome is drawn from a logistic function of
the month's capacity, so the outcome (ever 90+ days past due or charged off)
is driven by ``z`` and learnable from behaviour.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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

# Credit delinquency: P(miss) = sigmoid(a - b * capacity) when current / when already late.
_MISS_CURRENT = (-5.2, 1.2)
_MISS_ROLL = (-1.4, 1.0)
_CURE = 0.6


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class Calendar:
    """Month boundaries as days since 1970-01-01, with history before the start."""

    def __init__(self, start: date, months: int) -> None:
        m0 = np.datetime64(start.replace(day=1), "M")
        offs = np.arange(-_HIST, months + 1)
        firsts = (m0 + offs).astype("datetime64[D]").astype(np.int64)
        self._firsts = firsts + min(start.day - 1, 27)
        self.months = months
        self.month_start = self._firsts[_HIST:]  # months + 1 entries (last = horizon end)
        self.month_len = np.diff(self.month_start)
        self.moy = ((m0 + np.arange(months)).astype(np.int64) % 12).astype(np.int64)  # 0 = January
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
        self.cal = Calendar(config.start, config.months)
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

    def outcome3(self, cap: np.ndarray, late: tuple[float, float], miss: tuple[float, float]) -> np.ndarray:
        """0 = on time, 1 = late, 2 = missed, from capacity."""
        rng = self.rng
        is_late = rng.random(cap.size) < _sigmoid(late[0] - late[1] * cap)
        is_miss = is_late & (rng.random(cap.size) < _sigmoid(miss[0] - miss[1] * cap))
        return is_late.astype(np.int8) + is_miss.astype(np.int8)

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
        self.never = self.thin | (rng.random(n) < 0.20)
        # life shock: a temporary drop of capacity; its cause is never recorded
        p_shock = np.clip(0.010 * np.exp(-0.4 * self.z), 1e-4, 0.5)
        start = rng.geometric(p_shock) - 1
        dur = rng.integers(2, 9, n)
        mag = rng.uniform(1.0, 2.2, n)
        k = np.arange(M)
        shock = ((k >= start[:, None]) & (k < (start + dur)[:, None])) * mag[:, None]
        season = _SEASON[self.cal.moy]
        squeeze = 0.25 * (np.r_[1.0, season[:-1]] - 1.0)  # the month after heavy spending
        self.cap = self.z[:, None] - shock - squeeze[None, :] + 0.35 * rng.standard_normal((n, M))

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
        c = self.cap[cons[o], due_month]
        state = self.outcome3(c, (-2.7, 1.3), (-0.8, 1.0))
        on_time = due - rng.integers(0, 8, o.size)
        late = due + 1 + np.minimum(rng.geometric(1 / 12, o.size), 89)
        paid = np.where(state == 0, on_time, np.where(state == 1, late, DATE_NULL))
        occ_day = np.where(state == 2, due + 30, paid)
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
            late = (-2.9, 1.3) if kind == 2 else (-2.3, 1.2)
            state = self.outcome3(self.cap[cons, month], late, (-1.2, 1.0))
            on_time = np.maximum(issue, due - rng.integers(0, 10, cons.size))
            paid = np.where(state == 0, on_time, due + 1 + np.minimum(rng.geometric(0.1, cons.size), 59))
            ref = next_ref + np.arange(cons.size)
            next_ref += cons.size
            issued_parts.append(Part("bill.issued", partner, cons, self.at(issue), {
                "bill_ref": ref, "bill_kind": np.full(cons.size, kind), "amount": amount, "due_date": due}))
            pk = np.flatnonzero(state < 2)
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
        o = np.where(first, rng.integers(-30, max(1, M // 2), a), rng.integers(-24, M, a))
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
        util0 = _sigmoid(-0.8 - 0.9 * z + 0.5 * rng.standard_normal(a))
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
            util = np.clip(util0[ia] + 0.08 * rng.standard_normal(ia.size) + 0.1 * np.minimum(dk, 3), 0.01, 1.0)
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
            c = self.cap[cons[ia], k]
            p_miss = np.where(dk == 0, _sigmoid(_MISS_CURRENT[0] - _MISS_CURRENT[1] * c),
                              _sigmoid(_MISS_ROLL[0] - _MISS_ROLL[1] * c))
            miss = (rng.random(ia.size) < p_miss) & (bal > 0)
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
        self.status_part = self.add(Part("credit.status", partner[ia], cons[ia], self.at(sd), {
            "account_ref": ref[ia], "as_of_date": sd, "days_past_due": dpd}))
        ia, sd, bal, min_due, due = (cat("stmt", i) for i in range(5))
        self.add(Part("credit.statement", partner[ia], cons[ia], self.at(sd), {
            "account_ref": ref[ia], "statement_date": sd, "balance": bal, "minimum_due": min_due,
            "due_date": due}))
        ia, day, amt = (cat("pay", i) for i in range(3))
        self.add(Part("credit.payment", partner[ia], cons[ia], self.at(day), {
            "account_ref": ref[ia], "amount": amt, "paid_date": day}))
        ia, day, amt = (cat("co", i) for i in range(3))
        self.chargeoff_part = self.add(Part("credit.charged_off", partner[ia], cons[ia], self.at(day), {
            "account_ref": ref[ia], "amount": amt, "charged_off_date": day}))
        ia, day, reason = (cat("closed", i) for i in range(3))
        self.add(Part("credit.closed", partner[ia], cons[ia], self.at(day), {
            "account_ref": ref[ia], "closed_date": day, "reason": reason}))

    # ------------------------------------------------------------------ rentals and rides
    def rentals(self) -> None:
        rng, n = self.rng, self.n
        started, returned, unpaid = [], [], []
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
            c = self.cap[cons, month]
            state = self.outcome3(c, (-3.2, 1.2), (-3.0, 1.0))  # 2 = never returned / never settled
            span_s = (due_back - start) // US_PER_SECOND
            early = start + (rng.uniform(0.05, 0.95, m) * span_s).astype(np.int64) * US_PER_SECOND
            late_by = (np.minimum(rng.exponential(12 * 3600, m), 5 * DAY_S).astype(np.int64) + 60) * US_PER_SECOND
            ret = np.where(state == 0, early, due_back + late_by)
            ref = next_ref + np.arange(m)
            next_ref += m
            started.append(Part("rental.started", partner, cons, start, {
                "rental_ref": ref, "rental_kind": kind, "deposit_waived": waived, "due_back_at": due_back}))
            ri = np.flatnonzero(state < 2)
            returned.append(Part("rental.returned", partner, cons[ri], ret[ri], {
                "rental_ref": ref[ri], "rental_kind": kind[ri], "returned_at": ret[ri],
                "on_time": state[ri] == 0}))
            owe = ((state == 1) & (rng.random(m) < _sigmoid(-1.0 - 1.2 * c))) | (state == 2)
            ui = np.flatnonzero(owe)
            ref_day = np.where(state[ui] == 2, due_back[ui], ret[ui]) // US_PER_DAY
            fee_due = ref_day + 7
            unpaid.append(Part("rental.fee_unpaid", partner, cons[ui], self.at(fee_due + 1), {
                "rental_ref": ref[ui], "rental_kind": kind[ui],
                "amount": np.where(state[ui] == 2, lost_fee[ui], fee[ui]), "due_date": fee_due}))
        for parts in (started, returned, unpaid):
            self.add(concat_parts(parts))

    # ------------------------------------------------------------------ bureau
    def bureau(self) -> None:
        rng, n, cal, M = self.rng, self.n, self.cal, self.config.months
        has = ~self.thin & (rng.random(n) < np.where(self.never, 0.3, 0.9))
        holders = np.flatnonzero(has)
        nt = np.where(self.never[holders], 1, 1 + rng.poisson(0.8, holders.size))
        cons = np.repeat(holders, nt)
        t = cons.size
        z = self.z[cons]
        kind = rng.choice(5, t, p=[0.45, 0.1, 0.3, 0.1, 0.05])
        opened = cal.first_day(-rng.integers(6, 121, t)) + rng.integers(0, 28, t)
        bad = ~self.never[cons] & (rng.random(t) < _sigmoid(-3.6 - 1.4 * z))
        status = np.where(self.never[cons], STATUS["closed"],
                          np.where(rng.random(t) < 0.6, STATUS["open"], STATUS["closed"]))
        status = np.where(bad, np.where(rng.random(t) < 0.5, STATUS["charged_off"], STATUS["collection"]), status)
        late = rng.random(t) < _sigmoid(-2.2 - 1.3 * z)
        worst = np.where(late, rng.choice([30, 60, 90], t, p=[0.6, 0.28, 0.12]), 0)
        worst = np.where(bad, rng.choice([120, 150, 180], t), worst)
        limit = (np.maximum(np.round(self.income[cons] * rng.uniform(1, 4, t) / 10_000), 1) * 10_000).astype(np.int64)
        util = _sigmoid(-0.8 - 0.9 * z + 0.5 * rng.standard_normal(t))
        quarters = np.arange(0, M, 3)
        q = quarters.size
        tl = np.repeat(np.arange(t), q)
        qm = np.tile(quarters, t)
        as_of = cal.month_start[qm] + 4
        st = status[tl]
        snap_util = np.clip(util[tl] + 0.05 * rng.standard_normal(tl.size), 0, 1)
        balance = np.select([st == STATUS["open"], st == STATUS["closed"]],
                            [np.round(snap_util * limit[tl]), 0], np.round(limit[tl] * 0.8)).astype(np.int64)
        occ = self.at(as_of)
        rec = occ + rng.integers(1 * DAY_S, 6 * DAY_S, tl.size) * US_PER_SECOND
        self.add(Part("bureau.tradeline", P_BUR, cons[tl], occ, {
            "tradeline_ref": tl, "account_kind": kind[tl], "status": st, "opened_date": opened[tl],
            "as_of_date": as_of, "credit_limit": limit[tl], "balance": balance,
            "worst_days_past_due_24m": worst[tl]}, rec=rec))

    # ------------------------------------------------------------------ corrections and retractions
    _CORRECTABLE = frozenset({"order.placed", "order.payment", "bill.paid", "credit.payment",
                              "credit.statement", "credit.status"})
    _DUPLICABLE = frozenset({"order.placed", "order.payment", "bill.issued", "bill.paid",
                             "credit.payment", "rental.started", "rental.fee_unpaid", "bureau.tradeline"})

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
        for part in base:
            if part.rec is None:
                part.rec = self.arrival(part.occ)
        sizes = [len(p) for p in base]
        offsets = np.cumsum([0] + sizes)
        fixes: list[Part] = []
        dups: list[Part] = []
        for bi, part in enumerate(base):
            m = len(part)
            u = rng.random(m)
            if part.etype in self._CORRECTABLE:
                sel = np.flatnonzero((u < 0.004) & self._eligible_for_correction(part))
                fix = part.take(sel)
                self._corrupt(part, sel)
                fix.rec = fix.rec + rng.integers(1 * DAY_S, 46 * DAY_S, sel.size) * US_PER_SECOND
                fix.corrects = offsets[bi] + sel
                fixes.append(fix)
            if part.etype in self._DUPLICABLE:
                sel = np.flatnonzero((u >= 0.004) & (u < 0.0065) & (part.rec < end - 2 * DAY_S * US_PER_SECOND))
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
            occ = np.minimum(t_rec + lag, end - US_PER_SECOND)
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

    def outcomes(self, ids: pa.Array) -> pa.Table:
        first_bad = np.full(self.n, np.iinfo(np.int32).max, dtype=np.int64)
        s = self.status_part
        bad = s.cols["days_past_due"] >= 90
        np.minimum.at(first_bad, s.cons[bad], s.cols["as_of_date"][bad].astype(np.int64))
        c = self.chargeoff_part
        np.minimum.at(first_bad, c.cons, c.cols["charged_off_date"].astype(np.int64))
        none = first_bad == np.iinfo(np.int32).max
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

    def run(self) -> SimulationChunk:
        self.consumers()
        self.identity()
        self.income_verified()
        self.orders()
        self.bills()
        self.credit()
        self.rentals()
        self.bureau()
        self.revisions()
        ids = self.consumer_ids()
        consents = self.consents(ids)
        outcomes = self.outcomes(ids)
        self.status_part = self.chargeoff_part = None
        events = assemble(self.parts, self.index, ids, self.config.currency)
        self.parts = []
        return SimulationChunk(self.index, self.first, self.consumers_table(ids), consents, events, outcomes)


def simulate_chunk(config: SimulationConfig, chunk_index: int) -> SimulationChunk:
    """Simulate chunk ``chunk_index`` of the population (independent of every other chunk)."""
    if not 0 <= chunk_index < max(config.n_chunks, 1):
        raise IndexError(chunk_index)
    return _Chunk(config, chunk_index).run()


__all__ = ["CONSENT_SCHEMA", "CONSUMER_SCHEMA", "OUTCOME_SCHEMA", "Calendar", "TS_NULL", "simulate_chunk"]
