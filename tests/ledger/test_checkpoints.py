"""Signed checkpoints of the ledger's head (issue 11, findings 2 and 11), on SQLite and PostgreSQL.

Without an anchor, cutting the tail or editing an entry and re-hashing everything after it leaves a
chain that verifies. A signed checkpoint makes both visible, to the cheap incremental check from
the newest checkpoint and to the full check, and a checkpoint kept elsewhere still shows a cut
after the stored checkpoints were deleted too.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, delete, select, update

from credo.credentials import KeyRing
from credo.errors import ErrorCode
from credo.ledger import append_entry, entry_hash, pseudonymise, verify_chain
from credo.ledger.checkpoints import sign_head, verify_all, verify_incremental
from credo.service.ledger_check import verifier
from credo.store.tables import access_ledger, ledger_checkpoints

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)
RING = KeyRing.generate(T0 - timedelta(days=1))
VERIFY = verifier(lambda: RING)


def _append(engine: Engine, n: int, start: int = 0, consumer: str = "alice") -> None:
    with engine.begin() as conn:
        for i in range(start, start + n):
            append_entry(conn, consumer_id=consumer, actor="partner-a", actor_kind="partner", purpose="rental",
                         disclosed=f"eligibility:600:{'yes' if i % 2 else 'no'}", outcome="allowed",
                         at=T0 + timedelta(minutes=i))


def _checkpoint(engine: Engine, ring: KeyRing = RING):  # noqa: ANN202
    with engine.begin() as conn:
        return sign_head(conn, ring.sign, T0 + timedelta(days=1))


def _checks(engine: Engine, anchors: tuple = ()) -> tuple:  # noqa: ANN202
    with engine.connect() as conn:
        return verify_incremental(conn, VERIFY)[0], verify_all(conn, VERIFY, anchors), verify_chain(conn)


def _rewrite_from(engine: Engine, seq: int, **values: str) -> None:
    """Edit entry ``seq`` and recompute every hash after it: the chain alone cannot tell."""
    with engine.begin() as conn:
        conn.execute(update(access_ledger).where(access_ledger.c.seq == seq).values(**values))
        rows = conn.execute(select(access_ledger).where(access_ledger.c.seq >= seq - 1)
                            .order_by(access_ledger.c.seq)).mappings().all()
        prev = rows[0]["hash"]
        for row in rows[1:]:
            fixed = {**row, "prev_hash": prev}
            fixed["hash"] = entry_hash(fixed)
            conn.execute(update(access_ledger).where(access_ledger.c.seq == row["seq"])
                         .values(prev_hash=fixed["prev_hash"], hash=fixed["hash"]))
            prev = fixed["hash"]


def test_the_incremental_check_walks_only_the_entries_after_the_newest_checkpoint(engine: Engine) -> None:
    _append(engine, 40)
    assert _checkpoint(engine).seq == 40
    _append(engine, 7, start=40)
    with engine.connect() as conn:
        report, anchor = verify_incremental(conn, VERIFY)
    assert report.ok and anchor.seq == 40 and report.entries_checked == 7 and report.head_seq == 47
    assert _checks(engine)[1].ok and _checks(engine)[1].entries_checked == 47


def test_a_cut_tail_is_seen_once_a_checkpoint_covers_it(engine: Engine) -> None:
    _append(engine, 20)
    _checkpoint(engine)
    with engine.begin() as conn:
        conn.execute(delete(access_ledger).where(access_ledger.c.seq > 17))
    quick, full, chain_alone = _checks(engine)
    assert chain_alone.ok, "the chain alone cannot see a cut tail"
    for report in (quick, full):
        assert not report.ok and report.problem is ErrorCode.LEDGER_ENTRY_MISSING and report.first_bad_seq == 20


def test_an_edit_with_the_suffix_rehashed_is_seen(engine: Engine) -> None:
    _append(engine, 30)
    _checkpoint(engine)
    _append(engine, 5, start=30)
    _rewrite_from(engine, 12, disclosed="band")
    quick, full, chain_alone = _checks(engine)
    assert chain_alone.ok, "the chain alone cannot see a rewrite"
    for report in (quick, full):
        assert not report.ok and report.problem is ErrorCode.LEDGER_HEAD_MISMATCH and report.first_bad_seq == 30


def test_a_checkpoint_not_signed_by_the_issuer_is_refused(engine: Engine) -> None:
    _append(engine, 10)
    _checkpoint(engine, KeyRing.generate(T0))  # a key the issuer never had
    quick, full, _ = _checks(engine)
    assert quick.problem is full.problem is ErrorCode.LEDGER_CHECKPOINT_INVALID
    with engine.begin() as conn:  # a genuine signature moved onto another head
        conn.execute(delete(ledger_checkpoints))
    _checkpoint(engine)
    _append(engine, 3, start=10)
    _rewrite_from(engine, 4, disclosed="band")
    with engine.begin() as conn:
        new_hash = conn.execute(select(access_ledger.c.hash).where(access_ledger.c.seq == 10)).scalar_one()
        conn.execute(update(ledger_checkpoints).values(hash=new_hash))
    quick, full, _ = _checks(engine)
    assert quick.problem is full.problem is ErrorCode.LEDGER_CHECKPOINT_INVALID


def test_a_checkpoint_kept_elsewhere_shows_a_cut_made_with_the_stored_checkpoints(engine: Engine) -> None:
    _append(engine, 12)
    kept = _checkpoint(engine).public()
    with engine.begin() as conn:
        conn.execute(delete(ledger_checkpoints))
        conn.execute(delete(access_ledger).where(access_ledger.c.seq > 9))
    quick, full, _ = _checks(engine)
    assert quick.ok and full.ok, "without the stored checkpoints the store alone cannot tell"
    (_, with_anchor, _) = _checks(engine, (kept,))
    assert not with_anchor.ok and with_anchor.problem is ErrorCode.LEDGER_ENTRY_MISSING


def test_pseudonymising_entries_before_the_checkpoint_still_verifies_incrementally(engine: Engine) -> None:
    _append(engine, 6)
    _append(engine, 3, start=6, consumer="bob")
    _checkpoint(engine)
    with engine.begin() as conn:
        pseudonymise(conn, "alice", b"s" * 32, at=T0 + timedelta(days=2))
    quick, full, _ = _checks(engine)
    assert quick.ok and quick.entries_checked == 1 and full.ok
    with engine.begin() as conn:  # re-pointing a covered entry before the checkpoint is still refused
        conn.execute(update(access_ledger).where(access_ledger.c.seq == 2).values(consumer_ref="p:" + "0" * 64))
    quick, _, _ = _checks(engine)
    assert not quick.ok and quick.problem is ErrorCode.LEDGER_PSEUDONYM_UNBOUND


def test_signing_twice_at_one_head_keeps_one_checkpoint(engine: Engine) -> None:
    _append(engine, 3)
    first, second = _checkpoint(engine), _checkpoint(engine)
    assert first == second
    with engine.connect() as conn:
        assert len(conn.execute(select(ledger_checkpoints)).all()) == 1


def test_an_empty_ledger_has_nothing_to_sign(engine: Engine) -> None:
    assert _checkpoint(engine) is None and all(r.ok for r in _checks(engine))
