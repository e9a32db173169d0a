"""The audit store: attributes kept only to test fairness, apart from everything that scores.

Taiwan's SEX, EDUCATION, MARRIAGE and AGE, German credit's personal status and sex, age and foreign
worker, and the simulator's synthetic groups are loaded here (decoded by :mod:`credo.fairness.codebooks`),
never as events, features or training columns. Two things keep them apart:

* **Where they live.** The ``audit_attributes`` table is declared in this module, on a ``MetaData`` of
  its own: :mod:`credo.store.tables`, which the feature, training and scoring code read, does not know
  it. Only this module names it, and the test ``tests/fairness/test_audit_isolation.py`` checks that no
  module of ``credo.features``, ``credo.scoring``, ``credo.model``, ``credo.ingest``, ``credo.tabular``
  or ``credo.service`` imports this package or names the table, and that features built with the table
  filled are byte-identical to features built without it.
* **Who reads them.** :func:`read` requires a reader and a purpose and appends an ``audit_read`` entry to
  the operator log (:mod:`credo.governance.oplog`) in the same transaction: every read is attributed.

A consumer's attributes are deleted with their account (:func:`forget`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pandas as pd
from sqlalchemy import Column, Connection, DateTime, Engine, MetaData, String, Table, delete, func, select

from credo.fairness.codebooks import decode
from credo.governance import oplog

#: The audit store's own metadata (its table is created by the store's migrations like every other).
audit_metadata = MetaData(naming_convention={"pk": "pk_%(table_name)s", "ix": "ix_%(column_0_label)s"})

audit_attributes = Table(
    "audit_attributes",
    audit_metadata,
    Column("subject_id", String(200), primary_key=True),
    Column("attribute", String(64), primary_key=True),
    Column("value", String(64), nullable=False),
    Column("source", String(200), nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
)

_CHUNK = 5000


def load(engine: Engine, frame: pd.DataFrame, *, source: str, now: datetime, subject: str = "consumer_id") -> int:
    """Decode ``frame`` (a subject column and raw audit columns) and store it, replacing what the store
    held for those subjects and attributes. Returns the number of values stored."""
    long = decode(frame, subject)
    rows = [{"subject_id": s, "attribute": a, "value": str(v)[:64], "source": source[:200], "loaded_at": now}
            for s, a, v in long.itertuples(index=False)]
    with engine.begin() as conn:
        for start in range(0, len(rows), _CHUNK):
            part = rows[start:start + _CHUNK]
            subjects = sorted({r["subject_id"] for r in part})
            names = sorted({r["attribute"] for r in part})
            conn.execute(delete(audit_attributes).where(audit_attributes.c.subject_id.in_(subjects),
                                                        audit_attributes.c.attribute.in_(names)))
            conn.execute(audit_attributes.insert(), part)
    return len(rows)


def read(conn: Connection, subjects: Iterable[str] | None, *, reader: str, purpose: str, at: datetime,
         model_version: str | None = None) -> pd.DataFrame:
    """The audit attributes of ``subjects`` (all when None), one column per attribute, indexed by subject;
    the read is recorded in the operator log as ``reader``'s, for ``purpose``."""
    query = select(audit_attributes.c.subject_id, audit_attributes.c.attribute, audit_attributes.c.value)
    wanted = None if subjects is None else sorted(set(subjects))
    rows: list[tuple[str, str, str]] = []
    if wanted is None:
        rows = [tuple(r) for r in conn.execute(query)]
    else:
        for start in range(0, len(wanted), _CHUNK):
            rows += [tuple(r) for r in conn.execute(query.where(
                audit_attributes.c.subject_id.in_(wanted[start:start + _CHUNK])))]
    frame = pd.DataFrame(rows, columns=["subject_id", "attribute", "value"])
    wide = frame.pivot(index="subject_id", columns="attribute", values="value") if len(frame) else \
        pd.DataFrame(index=pd.Index([], name="subject_id"))
    wide.columns.name = None
    oplog.append(conn, operator=reader, action=oplog.Action.AUDIT_READ, reason=purpose, at=at,
                 model_version=model_version,
                 detail={"subjects_asked": None if wanted is None else len(wanted), "subjects_found": len(wide),
                         "attributes": sorted(wide.columns)})
    return wide


def attribute_names(conn: Connection) -> list[str]:
    """The attributes the audit store holds for anyone (what an input must not be named)."""
    return sorted(conn.execute(select(audit_attributes.c.attribute).distinct()).scalars())


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(audit_attributes)).scalar_one())


def forget(conn: Connection, subject_id: str) -> int:
    """Delete a subject's audit attributes (their account is closed)."""
    return conn.execute(delete(audit_attributes).where(audit_attributes.c.subject_id == subject_id)).rowcount


__all__ = ["attribute_names", "audit_attributes", "audit_metadata", "count", "forget", "load", "read"]
