"""The operator log: append-only and hash-chained; any edit, removal or reorder is found and named."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select, update

from credo.errors import ErrorCode
from credo.governance import oplog
from credo.ledger.hashing import GENESIS_HASH, canonical_json, content_hash, hash_time
from credo.store.tables import operator_log

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=timezone.utc)


def _fill(engine: Engine, n: int = 4) -> list[oplog.LogEntry]:
    out = []
    with engine.begin() as conn:
        for i in range(n):
            out.append(oplog.append(conn, operator=f"ops-{i % 2}", action=oplog.Action.PUBLISH if i % 2 else
                                    oplog.Action.REGISTER, reason=f"reason {i}", at=T0 + timedelta(minutes=i),
                                    model_version=f"m-{i}", detail={"rules": [{"rule": "x", "passed": bool(i % 2)}]}))
    return out


def test_entries_chain_and_verify(engine: Engine) -> None:
    entries = _fill(engine)
    assert entries[0].prev_hash == GENESIS_HASH and [e.seq for e in entries] == [1, 2, 3, 4]
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:]))
    # the hash is the ledger's recipe: SHA-256 of the canonical JSON of the content, seq and prev_hash included
    first = entries[0]
    assert first.hash == content_hash({
        "v": 1, "seq": 1, "prev_hash": GENESIS_HASH, "occurred_at": hash_time(T0), "operator": "ops-0",
        "action": "register", "model_version": "m-0", "reason": "reason 0", "detail": canonical_json(first.detail)})
    with engine.connect() as conn:
        check = oplog.verify(conn)
        assert [e.seq for e in oplog.entries(conn, newest_first=True, limit=2)] == [4, 3]
    assert check.ok and check.entries_checked == 4 and (check.head_seq, check.head_hash) == (4, entries[-1].hash)


def test_an_edited_entry_is_named(engine: Engine) -> None:
    _fill(engine)
    with engine.begin() as conn:
        conn.execute(update(operator_log).where(operator_log.c.seq == 2).values(reason="nothing happened"))
    with engine.connect() as conn:
        check = oplog.verify(conn)
    assert not check.ok and check.problem == ErrorCode.OPLOG_ENTRY_EDITED and check.first_bad_seq == 2


def test_a_removed_entry_breaks_the_chain(engine: Engine) -> None:
    _fill(engine)
    with engine.begin() as conn:
        conn.execute(delete(operator_log).where(operator_log.c.seq == 3))
    with engine.connect() as conn:
        check = oplog.verify(conn)
    assert not check.ok and check.problem == ErrorCode.OPLOG_CHAIN_BROKEN and check.first_bad_seq == 3


def test_a_cut_tail_is_found_against_a_noted_head(engine: Engine) -> None:
    entries = _fill(engine)
    noted = (entries[-1].seq, entries[-1].hash)
    with engine.begin() as conn:
        conn.execute(delete(operator_log).where(operator_log.c.seq == 4))
    with engine.connect() as conn:
        assert oplog.verify(conn).ok  # the table alone cannot tell
        check = oplog.verify(conn, expected_head=noted)
    assert not check.ok and check.problem == ErrorCode.OPLOG_CHAIN_BROKEN and "cut" in check.detail
    with engine.connect() as conn:  # a head noted earlier still verifies once entries follow it
        assert oplog.verify(conn, expected_head=(entries[1].seq, entries[1].hash)).ok


def test_a_rewritten_log_is_found_against_a_noted_head(engine: Engine) -> None:
    entries = _fill(engine, 2)
    noted = (entries[1].seq, entries[1].hash)
    with engine.begin() as conn:
        conn.execute(delete(operator_log))
        oplog.append(conn, operator="ops-0", action="register", reason="reason 0", at=T0, model_version="m-0")
        oplog.append(conn, operator="mallory", action="publish", reason="all fine", at=T0, model_version="m-9")
    with engine.connect() as conn:
        check = oplog.verify(conn, expected_head=noted)
    assert not check.ok and check.problem == ErrorCode.OPLOG_ENTRY_EDITED and check.first_bad_seq == 2


def test_appends_refuse_what_would_not_say_who_or_why(engine: Engine) -> None:
    with engine.begin() as conn:
        for bad in ({"operator": " "}, {"reason": ""}, {"at": T0.replace(tzinfo=None)}):
            kwargs = {"operator": "ops", "action": "publish", "reason": "why", "at": T0, **bad}
            with pytest.raises(ValueError):
                oplog.append(conn, **kwargs)
        with pytest.raises(ValueError):
            oplog.append(conn, operator="ops", action="delete_everything", reason="why", at=T0)


_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=40)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reasons=st.lists(_TEXT.filter(str.strip), min_size=1, max_size=5),
       detail=st.dictionaries(st.text(min_size=1, max_size=8), st.one_of(st.integers(), _TEXT, st.booleans()),
                              max_size=4),
       victim=st.integers(min_value=0, max_value=4))
def test_any_single_edit_of_a_stored_entry_is_found(engine: Engine, reasons, detail, victim) -> None:  # noqa: ANN001
    with engine.begin() as conn:
        conn.execute(delete(operator_log))
        for i, why in enumerate(reasons):
            oplog.append(conn, operator="ops", action="register", reason=why, at=T0 + timedelta(seconds=i),
                         detail=detail)
        assert oplog.verify(conn).ok
        seq = victim % len(reasons) + 1
        stored = conn.execute(select(operator_log.c.reason).where(operator_log.c.seq == seq)).scalar_one()
        conn.execute(update(operator_log).where(operator_log.c.seq == seq).values(reason=stored + "!"))
        check = oplog.verify(conn)
        assert not check.ok and check.first_bad_seq == seq and check.problem == ErrorCode.OPLOG_ENTRY_EDITED
