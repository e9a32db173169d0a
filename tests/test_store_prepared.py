"""Prepared statements (the partner-read hot path) give what ``Connection.execute`` gives, on both stores."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, func, insert, select

from credo.store import partners
from credo.store.prepared import Prepared
from credo.store.tables import access_ledger

AT = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=timezone.utc)


def _ledger_row(seq: int, at: datetime) -> dict:
    return {"seq": seq, "entry_kind": "access", "occurred_at": at, "consumer_ref": "c1", "consumer_salt": "s",
            "consumer_commit": "x" * 64, "actor_kind": "partner", "actor_ref": "p1", "actor_salt": None,
            "actor_commit": None, "purpose": "credit_application", "consent_id": None, "disclosed": "band",
            "outcome": "allowed", "reason_code": None, "covers": {"seqs": [1, 2], "note": "ü"},
            "prev_hash": f"{seq - 1:064d}", "hash": f"{seq:064d}"}


INSERT = Prepared(insert(access_ledger).values({c.name: bindparam(c.name, type_=c.type) for c in access_ledger.c}))
SINCE = Prepared(select(access_ledger.c.seq, access_ledger.c.occurred_at, access_ledger.c.covers,
                        access_ledger.c.actor_salt).where(access_ledger.c.occurred_at > bindparam("since"))
                 .order_by(access_ledger.c.seq).limit(bindparam("cap")))
COUNT = Prepared(select(access_ledger.c.actor_ref, func.count()).group_by(access_ledger.c.actor_ref))


def test_prepared_rows_equal_core_rows_with_types_converted(engine) -> None:  # noqa: ANN001
    with engine.begin() as conn:
        for seq in (1, 2, 3):
            assert INSERT.run(conn, **_ledger_row(seq, AT + timedelta(seconds=seq))) == 1
    with engine.connect() as conn:
        fast = SINCE.all(conn, since=AT + timedelta(seconds=1), cap=5)
        core = conn.execute(SINCE.statement, {"since": AT + timedelta(seconds=1), "cap": 5}).all()
        assert [tuple(r) for r in fast] == [tuple(r) for r in core]
        assert [r.seq for r in fast] == [2, 3]
        assert isinstance(fast[0].occurred_at, datetime)
        assert fast[0].occurred_at.replace(tzinfo=timezone.utc) == AT + timedelta(seconds=2)
        assert fast[0].covers == {"seqs": [1, 2], "note": "ü"} and fast[0].actor_salt is None
        assert SINCE.first(conn, since=AT + timedelta(seconds=3), cap=5) is None
        assert [r.seq for r in SINCE.all(conn, since=AT, cap=2)] == [1, 2]
        assert [tuple(r) for r in COUNT.all(conn)] == [("p1", 3)]


def test_prepared_statements_join_the_callers_transaction(engine) -> None:  # noqa: ANN001
    with engine.connect() as conn:
        conn.begin()
        INSERT.run(conn, **_ledger_row(1, AT))
        assert [tuple(r) for r in COUNT.all(conn)] == [("p1", 1)]
        conn.rollback()
    with engine.connect() as conn:
        assert COUNT.all(conn) == []
        assert conn.execute(select(func.count()).select_from(partners)).scalar_one() == 0
