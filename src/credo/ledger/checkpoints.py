"""Signed checkpoints of the chain head: the anchor that makes a cut tail or a rewritten chain visible.

A hash chain alone cannot show that its last entries were deleted, or that an entry was edited and
every later hash recomputed. A *checkpoint* is the head ``(seq, hash)`` at an instant, signed by the
issuer key ring (a compact JWS, ``typ`` :data:`CHECKPOINT_TYP`, payload ``{seq, hash, iat}``), stored
in ``ledger_checkpoints`` and handed out: the latest one at ``GET /v1/ledger/checkpoint``, and in each
consumer's export the one covering their entries. Because each hash commits to every entry before
it, one checkpoint whose entry still carries the signed hash proves the whole prefix unchanged
by rewriting: an edit with the suffix re-hashed changes that entry's hash, and a cut tail loses it.

* :func:`verify_incremental` (cheap, read-only): the newest checkpoint's signature and entry, then
  the chain walked from it to the head. Cost: one signature and the entries since that checkpoint.
* :func:`verify_all` (``credo ledger verify``): the whole chain, every stored checkpoint, and any
  checkpoints kept elsewhere (an export, an auditor's copy), which catch the deletion of the stored
  checkpoints together with the tail.

An edit of an old entry's content that leaves its stored hash stale is caught by the full walk only.

Signing and checking signatures are passed in (``sign``, ``verify``), so this module needs no key ring.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import IntegrityError

from credo.errors import ErrorCode
from credo.ledger.chain import VerificationReport, head, verify_chain
from credo.store.prepared import Prepared
from credo.store.tables import access_ledger, ledger_checkpoints

CHECKPOINT_TYP = "credo-ledger-checkpoint+jwt"

#: ``sign(header, payload)`` → compact JWS by the active issuer key (``kid`` in its header).
Signer = Callable[[dict[str, Any], dict[str, Any]], str]
#: ``verify(jws)`` → its payload if the signature verifies with a known issuer key of the right
#: ``typ``, else None.
Verifier = Callable[[str], dict[str, Any] | None]


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    signed_at: datetime
    signature: str

    def public(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "signed_at": self.signed_at, "signature": self.signature}


def _utc(value: datetime) -> datetime:
    from datetime import timezone

    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _checkpoint(row: Any) -> Checkpoint:
    return Checkpoint(row.seq, row.hash, _utc(row.signed_at), row.signature)


_LATEST = Prepared(select(ledger_checkpoints).order_by(ledger_checkpoints.c.seq.desc()).limit(1))
_COVERING = Prepared(select(ledger_checkpoints).where(ledger_checkpoints.c.seq >= bindparam("seq"))
                     .order_by(ledger_checkpoints.c.seq).limit(1))
_ENTRY_HASH = Prepared(select(access_ledger.c.hash).where(access_ledger.c.seq == bindparam("seq")))


def latest(conn: Connection) -> Checkpoint | None:
    row = _LATEST.first(conn)
    return None if row is None else _checkpoint(row)


def covering(conn: Connection, seq: int) -> Checkpoint | None:
    """The earliest checkpoint whose head is at or after entry ``seq`` (it covers every entry up to it)."""
    row = _COVERING.first(conn, seq=seq)
    return None if row is None else _checkpoint(row)


def sign_head(conn: Connection, sign: Signer, at: datetime) -> Checkpoint | None:
    """Sign the current head and store the checkpoint (in the caller's transaction); the existing one
    if the head is already checkpointed; None for an empty ledger."""
    seq, digest = head(conn)
    if seq == 0:
        return None
    existing = covering(conn, seq)
    if existing is not None and existing.seq == seq:
        return existing
    signature = sign({"typ": CHECKPOINT_TYP}, {"seq": seq, "hash": digest, "iat": int(at.timestamp())})
    try:
        with conn.begin_nested():
            conn.execute(ledger_checkpoints.insert().values(seq=seq, hash=digest, signed_at=at, signature=signature))
    except IntegrityError:  # another process checkpointed the same head meanwhile
        pass
    return covering(conn, seq)


class _Bad(Exception):
    def __init__(self, seq: int, problem: ErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.seq, self.problem, self.detail = seq, problem, detail


def _check(conn: Connection, seq: int, digest: str, signature: str, verify: Verifier) -> None:
    """A checkpoint is signed by an issuer key over exactly (seq, hash), and entry ``seq`` still has that hash."""
    payload = verify(signature)
    if payload is None or payload.get("seq") != seq or payload.get("hash") != digest:
        raise _Bad(seq, ErrorCode.LEDGER_CHECKPOINT_INVALID,
                   f"checkpoint at entry {seq} is not signed by the issuer over this head")
    stored = _ENTRY_HASH.first(conn, seq=seq)
    if stored is None:
        raise _Bad(seq, ErrorCode.LEDGER_ENTRY_MISSING, f"entry {seq}, signed in a checkpoint, is missing: "
                   "the chain was cut")
    if stored.hash != digest:
        raise _Bad(seq, ErrorCode.LEDGER_HEAD_MISMATCH, f"entry {seq} differs from its signed checkpoint: "
                   "entries up to it were rewritten")


def _failed(report: VerificationReport, bad: _Bad) -> VerificationReport:
    return VerificationReport(False, report.entries_checked, bad.seq, bad.problem, bad.detail, report.head_seq,
                              report.head_hash)


def verify_incremental(conn: Connection, verify: Verifier, *, batch_size: int = 2000) -> tuple[VerificationReport,
                                                                                                Checkpoint | None]:
    """The newest checkpoint (signature, and its entry's hash), then the chain from it to the head;
    read-only. Returns the report and the checkpoint it started from (None: from the first entry)."""
    anchor = latest(conn)
    if anchor is None:
        return verify_chain(conn, batch_size=batch_size), None
    try:
        _check(conn, anchor.seq, anchor.hash, anchor.signature, verify)
    except _Bad as bad:
        return VerificationReport(False, 0, bad.seq, bad.problem, bad.detail, *head(conn)), anchor
    return verify_chain(conn, since=(anchor.seq, anchor.hash), batch_size=batch_size), anchor


def verify_all(conn: Connection, verify: Verifier, anchors: Iterable[dict[str, Any]] = (), *,
               batch_size: int = 2000) -> VerificationReport:
    """The whole chain, then every stored checkpoint, then ``anchors`` kept elsewhere (checkpoints as
    :meth:`Checkpoint.public` gives them: ``seq``, ``hash``, ``signature``)."""
    report = verify_chain(conn, batch_size=batch_size)
    if not report.ok:
        return report
    try:
        stored = conn.execute(select(ledger_checkpoints).order_by(ledger_checkpoints.c.seq)).all()
        for row in stored:
            _check(conn, row.seq, row.hash, row.signature, verify)
        for kept in anchors:
            _check(conn, int(kept["seq"]), str(kept["hash"]), str(kept["signature"]), verify)
    except _Bad as bad:
        return _failed(report, bad)
    return report


__all__ = ["CHECKPOINT_TYP", "Checkpoint", "Signer", "Verifier", "covering", "latest", "sign_head",
           "verify_all", "verify_incremental"]
