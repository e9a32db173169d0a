"""The operator log: who did what to which model, when and why; append-only and hash-chained.

Every registration, publish, refusal, rollback, fairness run, chosen alternative and read of the
audit-only attributes appends one entry in the transaction that did it. The chain is built the way the
access ledger's is (:mod:`credo.ledger.hashing`): a gap-free ``seq``, and
``hash = SHA-256(canonical JSON of the entry including seq and prev_hash)``, ``prev_hash`` the hash of
entry ``seq - 1`` (64 zeros for the first). :func:`verify` walks the chain and names the first entry that
was edited, removed or reordered (``credo model log --verify``). As with any hash chain, cutting the tail
or rewriting everything is visible only against a head kept elsewhere: :func:`verify` takes
``expected_head`` (a ``(seq, hash)`` an auditor noted, printed by every verification).

``detail`` holds what the decision was based on (the gate's results rule by rule, a report's numbers) as
canonical JSON text, hashed as stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select, text

from credo.errors import ErrorCode
from credo.ledger.hashing import GENESIS_HASH, as_utc, canonical_json, content_hash, hash_time
from credo.store.tables import operator_log

HASH_VERSION = 1
#: Transaction-scoped PostgreSQL advisory lock key that serialises appends ("OPLOG").
_PG_LOCK_KEY = 0x4F_50_4C_4F_47


class Action(StrEnum):
    REGISTER = "register"
    PUBLISH = "publish"
    REFUSE = "refuse"
    ROLLBACK = "rollback"
    FAIRNESS = "fairness_report"
    SEARCH = "alternative_search"
    CHOOSE = "alternative_chosen"
    AUDIT_READ = "audit_read"
    MONITOR = "monitor"


@dataclass(frozen=True)
class LogEntry:
    seq: int
    occurred_at: datetime
    operator: str
    action: str
    model_version: str | None
    reason: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class LogVerification:
    ok: bool
    entries_checked: int
    first_bad_seq: int | None = None
    problem: ErrorCode | None = None
    detail: str = ""
    head_seq: int = 0
    head_hash: str = GENESIS_HASH


def _content(row: Any) -> dict[str, Any]:
    return {"v": HASH_VERSION, "seq": row["seq"], "prev_hash": row["prev_hash"],
            "occurred_at": hash_time(row["occurred_at"]), "operator": row["operator"], "action": row["action"],
            "model_version": row["model_version"], "reason": row["reason"], "detail": row["detail"]}


def entry_hash(row: Any) -> str:
    """The hash an entry (a row mapping) must carry."""
    return content_hash(_content(row))


def head(conn: Connection) -> tuple[int, str]:
    """``(seq, hash)`` of the newest entry; ``(0, GENESIS_HASH)`` when the log is empty."""
    row = conn.execute(select(operator_log.c.seq, operator_log.c.hash)
                       .order_by(operator_log.c.seq.desc()).limit(1)).first()
    return (0, GENESIS_HASH) if row is None else (int(row.seq), str(row.hash))


def _required(name: str, value: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ValueError(f"{name} must be a non-empty string of at most {limit} characters")
    return value.strip()


def append(conn: Connection, *, operator: str, action: Action | str, reason: str, at: datetime,
           model_version: str | None = None, detail: dict[str, Any] | None = None) -> LogEntry:
    """Append one entry (inside the transaction that acted) and return it. ``at`` comes from the clock."""
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise ValueError("at must be an aware datetime")
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    seq, prev = head(conn)
    row = {"seq": seq + 1, "occurred_at": as_utc(at), "operator": _required("operator", operator, 128),
           "action": Action(action).value, "model_version": model_version, "reason": _required("reason", reason, 4000),
           "detail": canonical_json(detail or {}), "prev_hash": prev}
    row["hash"] = entry_hash(row)
    conn.execute(insert(operator_log).values(**row))
    return _entry(row)


def _entry(row: Any) -> LogEntry:
    return LogEntry(seq=int(row["seq"]), occurred_at=as_utc(row["occurred_at"]), operator=row["operator"],
                    action=row["action"], model_version=row["model_version"], reason=row["reason"],
                    detail=json.loads(row["detail"]), prev_hash=row["prev_hash"], hash=row["hash"])


def entries(conn: Connection, *, model_version: str | None = None, action: Action | str | None = None,
            newest_first: bool = False, limit: int | None = None) -> list[LogEntry]:
    """Entries in chain order (or newest first), of one model or action if asked."""
    query = select(operator_log)
    if model_version is not None:
        query = query.where(operator_log.c.model_version == model_version)
    if action is not None:
        query = query.where(operator_log.c.action == Action(action).value)
    query = query.order_by(operator_log.c.seq.desc() if newest_first else operator_log.c.seq)
    if limit is not None:
        query = query.limit(limit)
    return [_entry(r) for r in conn.execute(query).mappings()]


def verify(conn: Connection, *, expected_head: tuple[int, str] | None = None, batch_size: int = 2000) -> LogVerification:
    """Walk the whole log; report the first edited, missing or reordered entry and, with
    ``expected_head`` (a ``(seq, hash)`` noted earlier), a cut tail or a rewritten prefix."""
    last_seq, last_hash, checked = 0, GENESIS_HASH, 0
    noted: str | None = GENESIS_HASH if expected_head is not None and expected_head[0] == 0 else None
    while True:
        rows = conn.execute(select(operator_log).where(operator_log.c.seq > last_seq)
                            .order_by(operator_log.c.seq).limit(batch_size)).mappings().all()
        if not rows:
            break
        for row in rows:
            seq = int(row["seq"])
            if seq != last_seq + 1 or row["prev_hash"] != last_hash:
                return LogVerification(False, checked, last_seq + 1, ErrorCode.OPLOG_CHAIN_BROKEN,
                                       f"entry {seq} does not follow entry {last_seq}: an entry is missing, "
                                       "reordered or its link was edited", last_seq, last_hash)
            if entry_hash(row) != row["hash"]:
                return LogVerification(False, checked, seq, ErrorCode.OPLOG_ENTRY_EDITED,
                                       f"entry {seq}: content does not match its hash", last_seq, last_hash)
            last_seq, last_hash, checked = seq, row["hash"], checked + 1
            if expected_head is not None and seq == expected_head[0]:
                noted = row["hash"]
    if expected_head is not None:
        want_seq, want_hash = expected_head
        if noted is None:
            return LogVerification(False, checked, last_seq + 1, ErrorCode.OPLOG_CHAIN_BROKEN,
                                   f"the log ends at entry {last_seq} but entry {want_seq} was noted: its tail "
                                   "was cut", last_seq, last_hash)
        if noted != want_hash:
            return LogVerification(False, checked, want_seq, ErrorCode.OPLOG_ENTRY_EDITED,
                                   f"entry {want_seq} no longer has the hash noted for it: the log was rewritten "
                                   "up to it", last_seq, last_hash)
    return LogVerification(True, checked, head_seq=last_seq, head_hash=last_hash)


__all__ = ["Action", "LogEntry", "LogVerification", "append", "entries", "entry_hash", "head", "verify"]
