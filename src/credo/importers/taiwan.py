"""The Taiwan credit-card dataset (UCI #350, Yeh & Lien 2009, CC BY 4.0) as events.

Each row becomes one consumer of one card issuer, with explicit consent for
that issuer to report its credit-line events, and those events: the account
opening with its limit, six monthly statements (April–September 2005), the
payments made and the repayment status as days past due. The result is a
population directory in the simulator's layout, so it enters the store only
through the normal registration and ingestion path.

Decisions the dataset forces (documented here, the single place they live):

* Amounts are New Taiwan dollars (TWD, two decimals in ISO 4217).
* A negative statement balance (a credit balance) is reported as 0.
* The dataset has no minimum payment; it is reported as 0.00.
* ``PAY_x`` of -2 (no use), -1 (paid in full) and 0 (revolving) are 0 days
  past due; 1..9 months late are 30..270 days past due.
* ``SEX``, ``EDUCATION``, ``MARRIAGE`` and ``AGE`` never become events: they
  go to ``audit.parquet``, kept apart for fairness reports only.
* The outcome ("default payment next month") goes to ``labels.parquet``.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from credo.events.columns import flat_schema

PARTNER_ID = "tw-card-issuer"
EVENT_TYPES = ("credit.opened", "credit.statement", "credit.payment", "credit.status")
AUDIT_COLUMNS = ("SEX", "EDUCATION", "MARRIAGE", "AGE")
LABEL_COLUMN = "default payment next month"
#: April … September 2005; the dataset lists them newest first.
MONTHS = (4, 5, 6, 7, 8, 9)
STATUS_COLUMNS = ("PAY_6", "PAY_5", "PAY_4", "PAY_3", "PAY_2", "PAY_0")
BILL_COLUMNS = tuple(f"BILL_AMT{i}" for i in (6, 5, 4, 3, 2, 1))
PAID_COLUMNS = tuple(f"PAY_AMT{i}" for i in (6, 5, 4, 3, 2, 1))
#: Every event is known by this instant; features and scores are taken as of it.
OBSERVATION_DATE = datetime(2005, 10, 1, tzinfo=timezone.utc)
OPENED = date(2005, 3, 1)


def _month_end(month: int) -> date:
    return date(2005, month + 1, 1) - timedelta(days=1)


def _at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(values: pd.Series) -> pd.Series:
    return values.clip(lower=0).astype("int64").map("{}.00".format)


def read_dataset(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    frame["consumer_id"] = frame["ID"].map("tw-{:05d}".format)
    return frame


def _events(frame: pd.DataFrame) -> pd.DataFrame:
    ids = frame["consumer_id"]
    parts = []

    def block(kind: str, month_index: int, when: datetime, **columns: object) -> pd.DataFrame:
        return pd.DataFrame({
            "type": kind,
            "event_id": ids + f"-{kind.split('.')[1]}-{month_index}",
            "partner_id": PARTNER_ID,
            "consumer_id": ids,
            "occurred_at": _iso(when),
            "received_at": _iso(when + timedelta(hours=2)),
            "account_ref": ids.str.replace("tw-", "acct-", regex=False),
            **columns,
        })

    parts.append(block("credit.opened", 0, _at_noon(OPENED), product="credit_card", currency="TWD",
                       limit=_money(frame["LIMIT_BAL"]), opened_date=OPENED.isoformat()))
    for i, month in enumerate(MONTHS, start=1):
        end = _month_end(month)
        parts.append(block(
            "credit.statement", i, _at_noon(end), currency="TWD", statement_date=end.isoformat(),
            balance=_money(frame[BILL_COLUMNS[i - 1]]), minimum_due="0.00",
            due_date=(end + timedelta(days=20)).isoformat(),
        ))
        paid = frame[PAID_COLUMNS[i - 1]] > 0
        payment_day = date(2005, month, 15)
        payments = block("credit.payment", i, _at_noon(payment_day), currency="TWD",
                         amount=_money(frame[PAID_COLUMNS[i - 1]]), paid_date=payment_day.isoformat())
        parts.append(payments[paid.to_numpy()])
        status = frame[STATUS_COLUMNS[i - 1]].clip(lower=0) * 30
        parts.append(block("credit.status", i, _at_noon(end) + timedelta(minutes=1), as_of_date=end.isoformat(),
                           days_past_due=status.astype("int64")))
    events = pd.concat(parts, ignore_index=True)
    order = np.lexsort((events["event_id"].to_numpy(), events["received_at"].to_numpy()))
    return events.iloc[order].reset_index(drop=True)


def write_population(frame: pd.DataFrame, out_dir: Path) -> dict[str, int]:
    """Write the dataset as a population directory (see module docstring)."""
    (out_dir / "events").mkdir(parents=True, exist_ok=True)
    partner = {"partner_id": PARTNER_ID, "name": "Taiwan card issuer (UCI #350)", "kind": "credit",
               "event_types": list(EVENT_TYPES)}
    (out_dir / "partners.json").write_text(json.dumps([partner], indent=2) + "\n")
    pq.write_table(pa.table({"consumer_id": frame["consumer_id"]}), out_dir / "consumers.parquet")
    consents = pd.DataFrame({
        "consumer_id": np.repeat(frame["consumer_id"].to_numpy(), len(EVENT_TYPES)),
        "partner_id": PARTNER_ID,
        "event_type": np.tile(EVENT_TYPES, len(frame)),
    })
    pq.write_table(pa.Table.from_pandas(consents, preserve_index=False), out_dir / "consents.parquet")
    events = _events(frame)
    schema = flat_schema()
    table = pa.table({name: pa.array(events[name] if name in events else [None] * len(events), type=schema.field(name).type)
                      for name in schema.names}, schema=schema)
    pq.write_table(table, out_dir / "events" / "part-00000.parquet")
    labels = pd.DataFrame({"consumer_id": frame["consumer_id"], "bad": frame[LABEL_COLUMN].astype("int8")})
    pq.write_table(pa.Table.from_pandas(labels, preserve_index=False), out_dir / "labels.parquet")
    audit = frame[["consumer_id", *AUDIT_COLUMNS]]
    pq.write_table(pa.Table.from_pandas(audit, preserve_index=False), out_dir / "audit.parquet")
    return {"consumers": len(frame), "events": len(events)}
