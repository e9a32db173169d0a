"""The access-ledger check and its signed checkpoints, as the API, the CLI and the web pages run them.

* :func:`quick_check` — what ``GET /v1/ledger/verify`` answers: read-only (a deferred transaction on
  SQLite, never the writer lock), the newest signed checkpoint and the entries after it
  (:func:`credo.ledger.checkpoints.verify_incremental`).
* :func:`full_check` — what ``credo ledger verify`` runs: the whole chain, every checkpoint, and
  checkpoints kept elsewhere.
* Checkpoints are signed by the issuer key ring: every ``ledger_checkpoint_every`` entries
  (:func:`checkpoint_if_due`, which the server runs every ``ledger_checkpoint_seconds``), on demand
  (``credo ledger checkpoint``), and for each consumer export (:func:`sign_checkpoint`, covering the
  consumer's entries, export entry included).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from credo.credentials import KeyRing
from credo.credentials.jose import SIGNING_ALG, CompactJWS, JoseError
from credo.ledger import VerificationReport, head
from credo.ledger import checkpoints
from credo.ledger.checkpoints import CHECKPOINT_TYP, Checkpoint, Verifier
from credo.service.runtime import Service
from credo.store.db import read_only


def verifier(keys: Callable[[], KeyRing]) -> Verifier:
    """Checks a checkpoint's JWS against the issuer keys (opened at the first checkpoint, so a ledger
    without any needs none): its payload, or None."""
    def verify(token: str) -> dict[str, Any] | None:
        try:
            jws = CompactJWS(token)
            key = keys().get(jws.header.get("kid"))
            if (key is None or jws.alg != SIGNING_ALG or jws.header.get("typ") != CHECKPOINT_TYP
                    or not jws.verify(key.public_key)):
                return None
            return jws.payload
        except (JoseError, ValueError, TypeError, KeyError):
            return None
    return verify


def sign_checkpoint(ring: KeyRing, conn: Connection, now: datetime) -> Checkpoint | None:
    """A signed checkpoint of the head, in the caller's transaction (None for an empty ledger). The
    ring comes from ``svc.keys()`` called before the transaction: opening it may write to the store."""
    return checkpoints.sign_head(conn, ring.sign, now)


def checkpoint_if_due(svc: Service, now: datetime) -> Checkpoint | None:
    """Sign the head if ``ledger_checkpoint_every`` entries came after the latest checkpoint; None if not
    due. Looks first in a read-only transaction, so a server that has nothing to sign takes no lock."""
    with read_only(svc.engine) as conn:
        seq, _ = head(conn)
        last = checkpoints.latest(conn)
    if seq - (last.seq if last is not None else 0) < svc.settings.ledger_checkpoint_every:
        return None
    ring = svc.keys()
    with svc.serial(), svc.engine.begin() as conn:
        return sign_checkpoint(ring, conn, now)


def _public(report: VerificationReport) -> dict[str, Any]:
    return {"ok": report.ok, "entries_checked": report.entries_checked, "first_bad_seq": report.first_bad_seq,
            "problem": report.problem.value if report.problem else None, "detail": report.detail,
            "head_seq": report.head_seq, "head_hash": report.head_hash}


def quick_check(svc: Service) -> dict[str, Any]:
    """The incremental, read-only check: the report, and ``checkpoint_seq``, where the walk began
    (the newest signed checkpoint; None: from the first entry)."""
    with read_only(svc.engine) as conn:
        report, anchor = checkpoints.verify_incremental(conn, verifier(svc.keys))
    return {**_public(report), "checkpoint_seq": anchor.seq if anchor is not None else None}


def full_check(svc: Service, anchors: Iterable[dict[str, Any]] = ()) -> VerificationReport:
    """The whole chain, every stored checkpoint and ``anchors`` (checkpoints kept elsewhere)."""
    with read_only(svc.engine) as conn:
        return checkpoints.verify_all(conn, verifier(svc.keys), anchors)


def latest_checkpoint(svc: Service) -> Checkpoint | None:
    with read_only(svc.engine) as conn:
        return checkpoints.latest(conn)
