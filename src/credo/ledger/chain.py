"""The access ledger: append-only, hash-chained, pseudonymisable without breaking the chain.

Every read of a consumer's score, band, eligibility or credential appends one
entry (who, as what kind of actor, when, for which purpose, under which
consent, what was disclosed, allowed or denied and why). Consumers see their
entries (:func:`entries_for`); anyone with read access can check that nothing
was edited, removed or reordered (:func:`verify_chain`).

Chain: one global chain, not one per consumer
---------------------------------------------
Entries carry a global, gap-free sequence number ``seq`` and
``hash = SHA-256(canonical JSON of the entry including seq and prev_hash)``,
with ``prev_hash`` the hash of entry ``seq - 1`` (64 zeros for entry 1).
One chain means that deleting *any* entry — even every entry of one consumer,
or the last entry of one consumer — breaks a link that verification sees; with
per-consumer chains, deleting a consumer's most recent entries (or the whole
chain) would go unnoticed. The price is that appends are serialised: on
PostgreSQL a transaction-scoped advisory lock, on SQLite the store's
``BEGIN IMMEDIATE``; ``seq`` as primary key and a unique ``prev_hash`` make a
fork impossible even without the lock. An append is one indexed read and one
insert, so this sustains thousands of reads per second; if it ever does not,
shard into N chains by a keyed hash of the consumer id.

Truncating the tail, or rewriting the whole chain, cannot be detected from the
table alone (no hash chain can). :func:`head` returns ``(seq, hash)`` to anchor
elsewhere (publish it, or sign it with the credential key ring, periodically);
``verify_chain(conn, expected_head=…)`` then also proves nothing was cut off.

Identities: salted commitments, so pseudonymisation leaves every hash intact
-------------------------------------------------------------------------------
The hash never covers a raw consumer id. Each entry stores

* ``consumer_ref``: the consumer id in clear (for :func:`entries_for`),
* ``consumer_salt``: 16 random bytes, fresh per entry,
* ``consumer_commit = SHA-256("credo.ledger.subject.v1" 0x00 salt id)``,

and only ``consumer_commit`` is hashed into the chain. Verification recomputes
the commitment from ``consumer_ref`` and the salt, so editing the id is
detected like any other edit. A consumer acting on a record (``actor_kind ==
"consumer"``: themselves, or a friend in a circle) is stored the same way in
the ``actor_*`` columns; partner and operator ids are hashed as they are.

:func:`pseudonymise` (account closure) replaces ``consumer_ref`` (and a
consumer ``actor_ref``) with ``P = "p:" + HMAC-SHA256(secret, consumer_id)``
and deletes the salt. The commitment — and therefore every hash — is
unchanged, and without the salt the commitment cannot be linked back to the
id, even by someone who knows it. To make that the *only* permitted change,
pseudonymisation appends its own entry (``entry_kind = "pseudonymisation"``,
``consumer_ref = P``) whose hashed ``covers`` lists every ``[seq, role]`` it
pseudonymised. Verification requires every salt-less identity to equal the
``P`` of a later pseudonymisation entry that covers it, exactly: re-pointing
a pseudonymised entry at another pseudonym, or stripping a salt without a
covering record, is reported (``LEDGER_PSEUDONYM_UNBOUND``). The operator who
keeps ``secret`` can still find a closed account's entries
(:func:`pseudonym_of`) for a legal request; nobody else can.

Timestamps are hashed as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC, microseconds),
which both SQLite and PostgreSQL store exactly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text, update

from credo.errors import ErrorCode
from credo.ledger.hashing import GENESIS_HASH, as_utc, content_hash, hash_time
from credo.store.prepared import Prepared
from credo.store.tables import access_ledger

HASH_VERSION = 1
PSEUDONYM_PREFIX = "p:"
#: Transaction-scoped PostgreSQL advisory lock key that serialises appends.
_PG_LOCK_KEY = 0x4C_45_44_47_45_52  # "LEDGER"
_SUBJECT_DOMAIN = b"credo.ledger.subject.v1\x00"
_PSEUDONYM_DOMAIN = b"credo.ledger.pseudonym.v1\x00"


class ActorKind(StrEnum):
    CONSUMER = "consumer"
    PARTNER = "partner"
    OPERATOR = "operator"
    SYSTEM = "system"


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"


class EntryKind(StrEnum):
    ACCESS = "access"
    PSEUDONYMISATION = "pseudonymisation"


@dataclass(frozen=True)
class LedgerEntry:
    """One entry as a consumer (or auditor) sees it."""

    seq: int
    entry_kind: str
    occurred_at: datetime
    consumer_id: str
    actor_kind: str
    actor: str
    purpose: str
    consent_id: str | None
    disclosed: str
    outcome: str
    reason_code: str | None
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class VerificationReport:
    ok: bool
    entries_checked: int
    #: ``seq`` of the first entry at which verification failed (None when ok).
    first_bad_seq: int | None = None
    problem: ErrorCode | None = None
    detail: str = ""
    head_seq: int = 0
    head_hash: str = GENESIS_HASH


@dataclass(frozen=True)
class PseudonymisationResult:
    pseudonym: str
    entries_pseudonymised: int
    record_seq: int


class LedgerError(RuntimeError):
    """The ledger refused an operation (e.g. pseudonymising over a tampered entry)."""


# --- hashing --------------------------------------------------------------------------------


def _commit(salt: str, identity: str) -> str:
    return hashlib.sha256(_SUBJECT_DOMAIN + base64.urlsafe_b64decode(salt + "==") + identity.encode("utf-8")).hexdigest()


def _pseudonym_commit(pseudonym: str) -> str:
    return hashlib.sha256(_PSEUDONYM_DOMAIN + pseudonym.encode("utf-8")).hexdigest()


def _new_salt() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode("ascii")


def pseudonym_of(consumer_id: str, secret: bytes) -> str:
    """The keyed pseudonym :func:`pseudonymise` gives ``consumer_id``."""
    return PSEUDONYM_PREFIX + hmac.new(secret, consumer_id.encode("utf-8"), hashlib.sha256).hexdigest()


def entry_hash(row: Any) -> str:
    """SHA-256 over the canonical serialisation of an entry (a row mapping)."""
    actor = row["actor_commit"] if row["actor_kind"] == ActorKind.CONSUMER else row["actor_ref"]
    content = {
        "v": HASH_VERSION,
        "seq": row["seq"],
        "prev_hash": row["prev_hash"],
        "entry_kind": row["entry_kind"],
        "occurred_at": hash_time(row["occurred_at"]),
        "subject": row["consumer_commit"],
        "actor_kind": row["actor_kind"],
        "actor": actor,
        "purpose": row["purpose"],
        "consent_id": row["consent_id"],
        "disclosed": row["disclosed"],
        "outcome": row["outcome"],
        "reason_code": row["reason_code"],
        "covers": row["covers"],
    }
    return content_hash(content)


# --- appending --------------------------------------------------------------------------------


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


_TAIL = Prepared(select(access_ledger.c.seq, access_ledger.c.hash).order_by(access_ledger.c.seq.desc()).limit(1))
_INSERT = Prepared(insert(access_ledger).values({c.name: bindparam(c.name, type_=c.type) for c in access_ledger.c}))


def _tail(conn: Connection) -> tuple[int, str]:
    row = _TAIL.first(conn)
    return (0, GENESIS_HASH) if row is None else (row.seq, row.hash)


def head(conn: Connection) -> tuple[int, str]:
    """``(seq, hash)`` of the newest entry, ``(0, GENESIS_HASH)`` when empty: anchor it elsewhere."""
    return _tail(conn)


def _text(name: str, value: Any, limit: int, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > limit:
        raise ValueError(f"{name} must be a non-empty string of at most {limit} characters")
    return value


def _insert(conn: Connection, values: dict[str, Any]) -> LedgerEntry:
    _lock(conn)
    seq, prev = _tail(conn)
    row = {**values, "seq": seq + 1, "prev_hash": prev}
    row["hash"] = entry_hash(row)
    _INSERT.run(conn, **row)
    return _entry(row)


def append_entry(
    conn: Connection,
    *,
    consumer_id: str,
    actor: str,
    actor_kind: ActorKind | str,
    purpose: str,
    disclosed: str,
    outcome: Outcome | str,
    at: datetime,
    consent_id: str | int | None = None,
    reason_code: ErrorCode | str | None = None,
) -> LedgerEntry:
    """Append one access entry and return it (call inside the transaction that made the read).

    ``disclosed`` says what was revealed: ``"band"``, ``"score+reasons"``,
    ``"eligibility:650:no"``, ``"credential:score_at_least_650"``… A denied
    access needs a ``reason_code`` (the stable :class:`~credo.errors.ErrorCode`
    value). ``at`` comes from the injected clock.
    """
    kind = ActorKind(actor_kind)
    result = Outcome(outcome)
    if result is Outcome.DENIED and not reason_code:
        raise ValueError("a denied access needs a reason_code")
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise ValueError("at must be an aware datetime")
    consumer = _text("consumer_id", consumer_id, 128)
    if consumer.startswith(PSEUDONYM_PREFIX):
        raise ValueError("consumer ids may not look like pseudonyms")
    who = _text("actor", actor, 128)
    salt = _new_salt()
    values: dict[str, Any] = {
        "entry_kind": EntryKind.ACCESS.value,
        "occurred_at": as_utc(at),
        "consumer_ref": consumer,
        "consumer_salt": salt,
        "consumer_commit": _commit(salt, consumer),
        "actor_kind": kind.value,
        "actor_ref": who,
        "actor_salt": None,
        "actor_commit": None,
        "purpose": _text("purpose", purpose, 64),
        "consent_id": None if consent_id is None else _text("consent_id", str(consent_id), 64),
        "disclosed": _text("disclosed", disclosed, 200),
        "outcome": result.value,
        "reason_code": None if reason_code is None else _text("reason_code", str(reason_code), 64),
        "covers": None,
    }
    if kind is ActorKind.CONSUMER:
        actor_salt = _new_salt()
        values.update(actor_salt=actor_salt, actor_commit=_commit(actor_salt, who))
    return _insert(conn, values)


def _entry(row: Any) -> LedgerEntry:
    return LedgerEntry(
        seq=row["seq"], entry_kind=row["entry_kind"], occurred_at=as_utc(row["occurred_at"]),
        consumer_id=row["consumer_ref"], actor_kind=row["actor_kind"], actor=row["actor_ref"],
        purpose=row["purpose"], consent_id=row["consent_id"], disclosed=row["disclosed"],
        outcome=row["outcome"], reason_code=row["reason_code"], prev_hash=row["prev_hash"], hash=row["hash"],
    )


def entries_for(conn: Connection, consumer_id: str) -> list[LedgerEntry]:
    """Every entry about ``consumer_id`` (or a pseudonym from :func:`pseudonym_of`), oldest first."""
    rows = conn.execute(
        select(access_ledger).where(access_ledger.c.consumer_ref == consumer_id).order_by(access_ledger.c.seq)
    ).mappings()
    return [_entry(r) for r in rows]


# --- pseudonymisation ----------------------------------------------------------------------------


def pseudonymise(
    conn: Connection,
    consumer_id: str,
    secret: bytes,
    *,
    at: datetime,
    actor: str = "credo",
    actor_kind: ActorKind | str = ActorKind.SYSTEM,
) -> PseudonymisationResult:
    """Replace ``consumer_id`` everywhere in the ledger by its keyed pseudonym (account closure).

    Hashes are untouched (see the module doc); a pseudonymisation entry that
    covers every changed ``[seq, role]`` is appended. Raises :class:`LedgerError`
    if an entry's stored commitment does not match ``consumer_id`` (tampering:
    verify the chain first).
    """
    if not isinstance(secret, bytes | bytearray) or len(secret) < 16:
        raise ValueError("secret must be at least 16 bytes")
    if ActorKind(actor_kind) is ActorKind.CONSUMER:
        raise ValueError("pseudonymisation is done by the system or an operator")
    pseudonym = pseudonym_of(consumer_id, bytes(secret))
    _lock(conn)
    t = access_ledger.c
    covers: list[list[Any]] = []
    for role, ref, salt, commit in (("subject", t.consumer_ref, t.consumer_salt, t.consumer_commit),
                                     ("actor", t.actor_ref, t.actor_salt, t.actor_commit)):
        cond = (ref == consumer_id) & salt.is_not(None)
        if role == "actor":
            cond = cond & (t.actor_kind == ActorKind.CONSUMER.value)
        rows = conn.execute(select(t.seq, salt.label("salt"), commit.label("commit")).where(cond)).all()
        for r in rows:
            if _commit(r.salt, consumer_id) != r.commit:
                raise LedgerError(f"entry {r.seq}: stored commitment does not match; ledger tampered")
        if rows:
            conn.execute(update(access_ledger).where(cond).values({ref.key: pseudonym, salt.key: None}))
        covers += [[r.seq, role] for r in rows]
    covers.sort()
    record = _insert(conn, {
        "entry_kind": EntryKind.PSEUDONYMISATION.value,
        "occurred_at": as_utc(at),
        "consumer_ref": pseudonym,
        "consumer_salt": None,
        "consumer_commit": _pseudonym_commit(pseudonym),
        "actor_kind": ActorKind(actor_kind).value,
        "actor_ref": _text("actor", actor, 128),
        "actor_salt": None,
        "actor_commit": None,
        "purpose": "account_closure",
        "consent_id": None,
        "disclosed": "pseudonymisation",
        "outcome": Outcome.ALLOWED.value,
        "reason_code": None,
        "covers": covers,
    })
    return PseudonymisationResult(pseudonym, len(covers), record.seq)


# --- verification -------------------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, seq: int, problem: ErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.seq, self.problem, self.detail = seq, problem, detail


def _check_identity(row: Any, role: str, pending: dict[str, dict[tuple[int, str], None]]) -> None:
    prefix = "actor" if role == "actor" else "consumer"
    ref, salt, commit = row[f"{prefix}_ref"], row[f"{prefix}_salt"], row[f"{prefix}_commit"]
    if salt is not None:
        try:
            intact = commit is not None and _commit(salt, ref) == commit
        except (ValueError, TypeError):
            intact = False
        if not intact:
            raise _Bad(row["seq"], ErrorCode.LEDGER_ENTRY_EDITED, f"entry {row['seq']}: {role} id was edited")
    elif not (isinstance(ref, str) and ref.startswith(PSEUDONYM_PREFIX)):
        raise _Bad(row["seq"], ErrorCode.LEDGER_ENTRY_EDITED, f"entry {row['seq']}: {role} lost its salt")
    else:
        pending[ref][(row["seq"], role)] = None


def verify_chain(
    conn: Connection, *, expected_head: tuple[int, str] | None = None, batch_size: int = 2000,
    since: tuple[int, str] | None = None,
) -> VerificationReport:
    """Walk the chain; report the first edited, missing, reordered or mis-pseudonymised entry.

    From the first entry, or — ``since=(seq, hash)``, an anchor already proven (a signed checkpoint
    whose entry still has that hash: :mod:`credo.ledger.checkpoints`) — from the entry after it, which
    must link to it. A pseudonymisation record in the walked part that covers entries before it is
    checked against those entries as stored."""
    pending: dict[str, dict[tuple[int, str], None]] = defaultdict(dict)
    last_seq, last_hash = since if since is not None else (0, GENESIS_HASH)
    checked = 0
    try:
        while True:
            rows = conn.execute(
                select(access_ledger).where(access_ledger.c.seq > last_seq)
                .order_by(access_ledger.c.seq).limit(batch_size)
            ).mappings().all()
            if not rows:
                break
            for row in rows:
                seq = row["seq"]
                if seq != last_seq + 1:
                    raise _Bad(seq, ErrorCode.LEDGER_ENTRY_MISSING,
                               f"entries {last_seq + 1}..{seq - 1} are missing")
                if row["prev_hash"] != last_hash:
                    raise _Bad(seq, ErrorCode.LEDGER_CHAIN_BROKEN,
                               f"entry {seq} does not follow entry {seq - 1}: entries reordered or replaced, "
                               f"or entry {seq - 1} rewritten with a forged hash")
                if entry_hash(row) != row["hash"]:
                    raise _Bad(seq, ErrorCode.LEDGER_ENTRY_EDITED, f"entry {seq}: content does not match its hash")
                if row["entry_kind"] == EntryKind.PSEUDONYMISATION:
                    _check_record(conn, row, pending, since[0] if since is not None else 0)
                else:
                    _check_identity(row, "subject", pending)
                    if row["actor_kind"] == ActorKind.CONSUMER:
                        _check_identity(row, "actor", pending)
                last_seq, last_hash, checked = seq, row["hash"], checked + 1
        unbound = sorted(k for waiting in pending.values() for k in waiting)
        if unbound:
            seq, role = unbound[0]
            raise _Bad(seq, ErrorCode.LEDGER_PSEUDONYM_UNBOUND,
                       f"entry {seq}: {role} pseudonymised without a covering pseudonymisation entry")
        if expected_head is not None:
            want_seq, want_hash = expected_head
            if last_seq < want_seq:
                raise _Bad(last_seq + 1, ErrorCode.LEDGER_ENTRY_MISSING,
                           f"chain ends at {last_seq}, anchored head is {want_seq}")
            anchored = last_hash if last_seq == want_seq else conn.execute(
                select(access_ledger.c.hash).where(access_ledger.c.seq == want_seq)).scalar_one()
            if anchored != want_hash:
                raise _Bad(want_seq, ErrorCode.LEDGER_HEAD_MISMATCH, f"entry {want_seq} differs from the anchor")
    except _Bad as bad:
        return VerificationReport(False, checked, bad.seq, bad.problem, bad.detail, last_seq, last_hash)
    return VerificationReport(True, checked, head_seq=last_seq, head_hash=last_hash)


def _check_record(conn: Connection, row: Any, pending: dict[str, dict[tuple[int, str], None]],
                  walked_from: int) -> None:
    seq, pseudonym = row["seq"], row["consumer_ref"]
    if row["consumer_salt"] is not None or row["consumer_commit"] != _pseudonym_commit(pseudonym):
        raise _Bad(seq, ErrorCode.LEDGER_ENTRY_EDITED, f"entry {seq}: pseudonymisation record was edited")
    covers = row["covers"]
    if not isinstance(covers, list):
        raise _Bad(seq, ErrorCode.LEDGER_ENTRY_EDITED, f"entry {seq}: pseudonymisation record lacks covers")
    claimed = {(int(s), str(r)) for s, r in covers}
    earlier = {c for c in claimed if c[0] <= walked_from}
    found = set(pending.pop(pseudonym, {})) | _pseudonymised_before(conn, earlier, pseudonym)
    if claimed != found:
        first = min(claimed ^ found)
        raise _Bad(first[0], ErrorCode.LEDGER_PSEUDONYM_UNBOUND,
                   f"entry {first[0]}: {first[1]} does not match pseudonymisation record {seq}")


def _pseudonymised_before(conn: Connection, claimed: set[tuple[int, str]], pseudonym: str) -> set[tuple[int, str]]:
    """Those of ``claimed`` (entries before the walked part) that are stored pseudonymised as ``pseudonym``."""
    if not claimed:
        return set()
    t = access_ledger.c
    rows = conn.execute(select(t.seq, t.consumer_ref, t.consumer_salt, t.actor_ref, t.actor_salt, t.actor_kind)
                        .where(t.seq.in_(sorted({s for s, _ in claimed})))).mappings()
    found = set()
    for r in rows:
        if r["consumer_salt"] is None and r["consumer_ref"] == pseudonym:
            found.add((r["seq"], "subject"))
        if r["actor_kind"] == ActorKind.CONSUMER and r["actor_salt"] is None and r["actor_ref"] == pseudonym:
            found.add((r["seq"], "actor"))
    return found & claimed


__all__ = [
    "GENESIS_HASH", "ActorKind", "Outcome", "EntryKind", "LedgerEntry", "VerificationReport",
    "PseudonymisationResult", "LedgerError", "append_entry", "entries_for", "verify_chain", "pseudonymise",
    "pseudonym_of", "head", "entry_hash",
]
