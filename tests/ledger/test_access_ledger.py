"""Access ledger on SQLite and PostgreSQL: append, verify, tamper detection, pseudonymisation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, delete, select, update

from credo.errors import ErrorCode
from credo.ledger import (
    GENESIS_HASH,
    LedgerError,
    append_entry,
    entries_for,
    entry_hash,
    head,
    pseudonym_of,
    pseudonymise,
    verify_chain,
)
from credo.store.tables import access_ledger

T0 = datetime(2026, 1, 1, 9, 30, 15, 123456, tzinfo=timezone.utc)
SECRET = b"k" * 32


def _append(conn, i: int, consumer: str = "alice", **kw):  # noqa: ANN001, ANN202
    kw.setdefault("actor", "partner-bikes")
    kw.setdefault("actor_kind", "partner")
    kw.setdefault("purpose", "deposit_waiver")
    kw.setdefault("disclosed", "eligibility:600:yes")
    kw.setdefault("outcome", "allowed")
    return append_entry(conn, consumer_id=consumer, at=T0 + timedelta(minutes=i), **kw)


@pytest.fixture
def filled(engine: Engine) -> Engine:
    """Six entries: alice x3 (one denied, one self-read), bob x2, alice reading as a friend of bob."""
    with engine.begin() as conn:
        _append(conn, 0, consent_id=17)
        _append(conn, 1, "bob", disclosed="band")
        _append(conn, 2, actor="partner-cars", disclosed="eligibility:650:no", outcome="denied",
                reason_code=ErrorCode.CONSENT_NOT_GIVEN)
        _append(conn, 3, actor="alice", actor_kind="consumer", purpose="self_view", disclosed="score+reasons")
        _append(conn, 4, "bob", actor="alice", actor_kind="consumer", purpose="friends_circle", disclosed="band")
        _append(conn, 5, actor="op-7", actor_kind="operator", purpose="dispute_review", disclosed="score+reasons")
    return engine


def _report(engine: Engine, **kw):  # noqa: ANN003, ANN202
    with engine.connect() as conn:
        return verify_chain(conn, **kw)


def test_append_and_verify(filled: Engine) -> None:
    report = _report(filled)
    assert report.ok and report.entries_checked == 6 and report.problem is None
    with filled.connect() as conn:
        assert (report.head_seq, report.head_hash) == head(conn)
        alice = entries_for(conn, "alice")
        bob = entries_for(conn, "bob")
    assert [e.seq for e in alice] == [1, 3, 4, 6] and [e.seq for e in bob] == [2, 5]
    assert alice[0].prev_hash == GENESIS_HASH and alice[0].consent_id == "17"
    assert alice[0].occurred_at == T0  # microseconds and UTC survive the round trip
    assert alice[1].outcome == "denied" and alice[1].reason_code == "CONSENT_NOT_GIVEN"
    assert bob[1].actor == "alice" and bob[1].actor_kind == "consumer"
    assert bob[0].prev_hash == alice[0].hash  # one global chain


def test_empty_ledger_verifies(engine: Engine) -> None:
    report = _report(engine)
    assert report.ok and report.entries_checked == 0 and report.head_hash == GENESIS_HASH


def test_append_validates_input(engine: Engine) -> None:
    with engine.begin() as conn:
        with pytest.raises(ValueError, match="reason_code"):
            _append(conn, 0, outcome="denied")
        with pytest.raises(ValueError):
            _append(conn, 0, actor_kind="robot")
        with pytest.raises(ValueError):
            append_entry(conn, consumer_id="alice", actor="x", actor_kind="partner", purpose="p",
                         disclosed="band", outcome="allowed", at=datetime(2026, 1, 1))  # naive


def _edit(engine: Engine, seq: int, **values) -> None:  # noqa: ANN003
    with engine.begin() as conn:
        conn.execute(update(access_ledger).where(access_ledger.c.seq == seq).values(**values))


def test_detects_an_edited_field(filled: Engine) -> None:
    _edit(filled, 3, disclosed="eligibility:650:yes")
    report = _report(filled)
    assert (report.ok, report.problem, report.first_bad_seq) == (False, ErrorCode.LEDGER_ENTRY_EDITED, 3)


@pytest.mark.parametrize("column", ["occurred_at", "outcome", "purpose", "actor_ref", "consent_id"])
def test_detects_edits_to_any_hashed_column(filled: Engine, column: str) -> None:
    value = {"occurred_at": T0 + timedelta(days=1), "outcome": "denied", "purpose": "marketing",
             "actor_ref": "someone-else", "consent_id": "99"}[column]
    _edit(filled, 1, **{column: value})
    report = _report(filled)
    assert (report.problem, report.first_bad_seq) == (ErrorCode.LEDGER_ENTRY_EDITED, 1)


def test_detects_an_edited_consumer_id(filled: Engine) -> None:
    _edit(filled, 2, consumer_ref="carol")  # re-attribute bob's entry to carol
    report = _report(filled)
    assert (report.problem, report.first_bad_seq) == (ErrorCode.LEDGER_ENTRY_EDITED, 2)


def test_detects_a_deleted_entry(filled: Engine) -> None:
    with filled.begin() as conn:
        conn.execute(delete(access_ledger).where(access_ledger.c.seq == 3))
    report = _report(filled)
    assert (report.problem, report.first_bad_seq) == (ErrorCode.LEDGER_ENTRY_MISSING, 4)


def test_detects_a_deleted_first_entry(filled: Engine) -> None:
    with filled.begin() as conn:
        conn.execute(delete(access_ledger).where(access_ledger.c.seq == 1))
    report = _report(filled)
    assert (report.problem, report.first_bad_seq) == (ErrorCode.LEDGER_ENTRY_MISSING, 2)


def test_detects_a_truncated_tail_against_an_anchored_head(filled: Engine) -> None:
    with filled.connect() as conn:
        anchor = head(conn)
    with filled.begin() as conn:
        conn.execute(delete(access_ledger).where(access_ledger.c.seq == 6))
    assert _report(filled).ok  # no chain can see its own tail cut off ...
    report = _report(filled, expected_head=anchor)  # ... an external anchor can
    assert (report.problem, report.first_bad_seq) == (ErrorCode.LEDGER_ENTRY_MISSING, 6)


def test_detects_two_swapped_entries(filled: Engine) -> None:
    with filled.begin() as conn:
        c = access_ledger.c
        conn.execute(update(access_ledger).where(c.seq == 3).values(seq=-3))
        conn.execute(update(access_ledger).where(c.seq == 4).values(seq=3))
        conn.execute(update(access_ledger).where(c.seq == -3).values(seq=4))
    report = _report(filled)
    assert (report.problem, report.first_bad_seq) == (ErrorCode.LEDGER_CHAIN_BROKEN, 3)


def test_detects_swapped_contents_with_seq_kept(filled: Engine) -> None:
    with filled.begin() as conn:
        rows = {r["seq"]: dict(r) for r in conn.execute(select(access_ledger)).mappings()}
        conn.execute(delete(access_ledger).where(access_ledger.c.seq.in_([2, 3])))
        conn.execute(access_ledger.insert(), [{**rows[3], "seq": 2}, {**rows[2], "seq": 3}])
    report = _report(filled)
    assert not report.ok and report.first_bad_seq == 2


def test_detects_a_forged_hash(filled: Engine) -> None:
    with filled.begin() as conn:
        row = dict(conn.execute(select(access_ledger).where(access_ledger.c.seq == 3)).mappings().one())
        row["disclosed"] = "eligibility:650:yes"
        conn.execute(update(access_ledger).where(access_ledger.c.seq == 3)
                     .values(disclosed=row["disclosed"], hash=entry_hash(row)))
    report = _report(filled)
    assert (report.problem, report.first_bad_seq) == (ErrorCode.LEDGER_CHAIN_BROKEN, 4)
    assert "entry 3" in report.detail


def test_detects_a_forged_tail_hash_against_an_anchor(filled: Engine) -> None:
    with filled.connect() as conn:
        anchor = head(conn)
    with filled.begin() as conn:
        row = dict(conn.execute(select(access_ledger).where(access_ledger.c.seq == 6)).mappings().one())
        row["purpose"] = "fraud_check"
        conn.execute(update(access_ledger).where(access_ledger.c.seq == 6)
                     .values(purpose=row["purpose"], hash=entry_hash(row)))
    report = _report(filled, expected_head=anchor)
    assert (report.problem, report.first_bad_seq) == (ErrorCode.LEDGER_HEAD_MISMATCH, 6)


# --- pseudonymisation -------------------------------------------------------------------------------


def _all_values(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [str(v) for r in conn.execute(select(access_ledger)).mappings() for v in r.values()]


def test_pseudonymisation_keeps_the_chain_valid_and_removes_the_raw_id(filled: Engine) -> None:
    with filled.connect() as conn:
        before = {e.seq: e.hash for e in entries_for(conn, "alice") + entries_for(conn, "bob")}
    with filled.begin() as conn:
        result = pseudonymise(conn, "alice", SECRET, at=T0 + timedelta(days=30))
    assert result.pseudonym == pseudonym_of("alice", SECRET) and result.pseudonym.startswith("p:")
    assert result.entries_pseudonymised == 6  # 4 as subject + 2 as consumer actor
    report = _report(filled)
    assert report.ok and report.entries_checked == 7, report.detail
    assert not any("alice" in v for v in _all_values(filled))
    with filled.connect() as conn:
        assert entries_for(conn, "alice") == []
        closed = entries_for(conn, result.pseudonym)
        bob = entries_for(conn, "bob")
    assert [e.seq for e in closed] == [1, 3, 4, 6, 7]
    assert closed[-1].entry_kind == "pseudonymisation" and closed[-1].purpose == "account_closure"
    assert {e.seq: e.hash for e in closed[:-1] + bob} == before  # no hash changed
    assert bob[1].actor == result.pseudonym  # alice's read of bob's band, pseudonymised too
    # Appending continues the same chain.
    with filled.begin() as conn:
        _append(conn, 99, "bob")
    assert _report(filled).ok


def test_pseudonymisation_can_run_again_for_late_entries(filled: Engine) -> None:
    with filled.begin() as conn:
        pseudonymise(conn, "alice", SECRET, at=T0 + timedelta(days=30))
        _append(conn, 60)  # a straggler read after closure
        again = pseudonymise(conn, "alice", SECRET, at=T0 + timedelta(days=31))
    assert again.entries_pseudonymised == 1
    assert _report(filled).ok


def test_repointing_a_pseudonymised_entry_is_detected(filled: Engine) -> None:
    with filled.begin() as conn:
        pseudonymise(conn, "alice", SECRET, at=T0 + timedelta(days=30))
        pseudonymise(conn, "bob", SECRET, at=T0 + timedelta(days=30))
    _edit(filled, 3, consumer_ref=pseudonym_of("bob", SECRET))  # move alice's denial to bob
    report = _report(filled)
    assert (report.problem, report.first_bad_seq) == (ErrorCode.LEDGER_PSEUDONYM_UNBOUND, 3)


def test_stripping_an_id_without_a_pseudonymisation_record_is_detected(filled: Engine) -> None:
    _edit(filled, 2, consumer_ref=pseudonym_of("bob", SECRET), consumer_salt=None)
    report = _report(filled)
    assert (report.problem, report.first_bad_seq) == (ErrorCode.LEDGER_PSEUDONYM_UNBOUND, 2)


def test_pseudonymise_refuses_a_tampered_commitment(filled: Engine) -> None:
    _edit(filled, 2, consumer_ref="alice")  # bob's entry re-attributed to alice
    with filled.begin() as conn, pytest.raises(LedgerError):
        pseudonymise(conn, "alice", SECRET, at=T0)


def test_pseudonymise_needs_a_real_secret(filled: Engine) -> None:
    with filled.begin() as conn, pytest.raises(ValueError):
        pseudonymise(conn, "alice", b"short", at=T0)
