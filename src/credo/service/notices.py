"""Notices addressed to the consumer: adverse-action notices and the results of their disputes.

An eligibility ``no`` tells the partner only ``no`` (FCRA §615(a) notices carry the score used,
which a consent of scope ``eligibility`` never lets a partner see). The notice itself — score used,
range, key factors, date, source, the CRA's contact and the consumer's rights — is delivered to the
consumer's account in the transaction of the check (:func:`deliver_adverse_action`), and the
ledger records both disclosures: ``eligibility:<threshold>:no`` to the partner, and
``adverse_action_notice:<reference>`` to the consumer.

The partner gets the notice's *reference* and a *printable-copy link* to hand to the customer:
``/v1/me/notices/<reference>?token=<token>``, where the token is 32 random bytes shown once (only
its SHA-256 is stored) and bound to that notice, so to that consumer and that check. Opening the
link needs the consumer's own session as well (:func:`printable_notice`): the partner, or anyone
the link is forwarded to, gets ``NOT_FOUND`` — the same answer as for a wrong token or an unknown
reference — and learns nothing. Opening it is recorded in the consumer's ledger.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select

from credo.errors import CredoError, ErrorCode
from credo.ledger import ActorKind
from credo.policy.bands import SCORE_MAX, SCORE_MIN
from credo.policy.reasons import INQUIRY_REASON
from credo.service import access
from credo.service.runtime import Service, utc
from credo.store.tables import adverse_action_notices, dispute_notices, partners

ADVERSE_ACTION = "adverse_action"
DISPUTE_RESULT = "dispute_result"
#: The ledger's purpose for a notice delivered to the consumer.
NOTICE_PURPOSE = "adverse_action"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def notice_link(reference: str, token: str) -> str:
    """The printable-copy link a partner may hand over (it works only in the consumer's session)."""
    return f"/v1/me/notices/{reference}?token={token}"


def adverse_action_body(svc: Service, result: Any, partner: dict[str, str], programme: dict[str, Any],
                        now: datetime) -> dict[str, Any]:
    """The notice's content (FCRA §615(a), Reg B) for the score ``result`` a check answered ``no`` on."""
    cfg = svc.settings
    return {
        "partner": partner,
        "programme_id": programme["id"],
        "threshold": programme["threshold"],
        "purpose": programme["purpose"],
        "decision": f"{partner['name']} declined: your score was below the programme's threshold "
                    f"of {programme['threshold']}.",
        "score_used": result.score,
        "score_range": {"min": SCORE_MIN, "max": SCORE_MAX},
        "key_factors": result.reason_details(),
        "inquiries_were_a_key_factor": INQUIRY_REASON in result.reasons[4:],
        "score_date": result.as_of.date().isoformat(),
        "score_source": {"provider": cfg.cra_name, "model_version": result.model_version},
        "cra": {"name": cfg.cra_name, "address": cfg.cra_address, "phone": cfg.cra_phone},
        "cra_did_not_decide": f"{cfg.cra_name} did not make this decision and cannot explain why it was made.",
        "free_report": {"within_days": 60, "request_by": (now + timedelta(days=60)).date().isoformat(),
                        "statement": "You may obtain a free copy of your report from "
                                     f"{cfg.cra_name} within 60 days."},
        "right_to_dispute": "You have the right to dispute the accuracy or completeness of any information "
                            f"in your report with {cfg.cra_name}, free of charge.",
    }


def deliver_adverse_action(conn: Connection, svc: Service, *, check_id: str, consumer_id: str, partner_id: str,
                           programme: dict[str, Any], result: Any, now: datetime) -> dict[str, str]:
    """Deliver the notice of a ``no`` to the consumer (in the check's transaction) and record it in their
    ledger; what the partner gets: ``{"reference", "link"}``."""
    name = conn.execute(select(partners.c.name).where(partners.c.id == partner_id)).scalar_one()
    reference = f"aan_{secrets.token_hex(16)}"
    token = secrets.token_urlsafe(32)
    conn.execute(insert(adverse_action_notices).values(
        id=reference, consumer_id=consumer_id, partner_id=partner_id, check_id=check_id, issued_at=now,
        link_token_sha256=_digest(token),
        body=adverse_action_body(svc, result, {"id": partner_id, "name": name}, programme, now)))
    access.record(conn, consumer_id=consumer_id, actor=access.Actor(ActorKind.CONSUMER, consumer_id),
                  purpose=NOTICE_PURPOSE, disclosed=f"adverse_action_notice:{reference}", now=now)
    return {"reference": reference, "link": notice_link(reference, token)}


def _adverse(r: Any) -> dict[str, Any]:
    body = r["body"]
    return {"reference": r["id"], "kind": ADVERSE_ACTION, "partner_id": r["partner_id"],
            "issued_at": utc(r["issued_at"]),
            "title": f"Why {body['partner']['name']} declined you after checking your score", "body": body}


def _dispute_result(r: Any) -> dict[str, Any]:
    return {"reference": f"dr_{r['id']}", "kind": DISPUTE_RESULT, "partner_id": r["partner_id"],
            "issued_at": utc(r["notified_at"]), "title": f"Result of your dispute about record {r['body']['event_id']}",
            "body": {**r["body"], "dispute_id": r["dispute_id"]}}


def consumer_notices(conn: Connection, consumer_id: str) -> list[dict[str, Any]]:
    """Every notice addressed to the consumer, newest first: adverse-action notices (``kind``
    ``adverse_action``; ``body`` as :func:`adverse_action_body`) and the results of their disputes
    (``dispute_result``; ``body`` the results notice with its ``dispute_id``). Each is
    ``{reference, kind, partner_id, issued_at, title, body}``."""
    found = [_adverse(r) for r in conn.execute(
        select(adverse_action_notices).where(adverse_action_notices.c.consumer_id == consumer_id)).mappings()]
    found += [_dispute_result(r) for r in conn.execute(select(dispute_notices).where(
        dispute_notices.c.consumer_id == consumer_id, dispute_notices.c.recipient == "consumer",
        dispute_notices.c.kind == "result")).mappings()]
    return sorted(found, key=lambda n: (n["issued_at"], n["reference"]), reverse=True)


def printable_notice(conn: Connection, consumer_id: str, reference: str, token: str,
                     now: datetime) -> dict[str, Any]:
    """The notice a printable-copy link names, for the consumer it is addressed to; recorded in their
    ledger. A wrong token, another consumer's notice and an unknown reference are one answer."""
    row = conn.execute(select(adverse_action_notices).where(adverse_action_notices.c.id == reference)).mappings().first()
    expected = row["link_token_sha256"] if row is not None else _digest(secrets.token_urlsafe(32))
    if not hmac.compare_digest(expected, _digest(token)) or row is None or row["consumer_id"] != consumer_id:
        raise CredoError(ErrorCode.NOT_FOUND, "no such notice for you", "reference", "your notice, with its link token")
    access.record(conn, consumer_id=consumer_id, actor=access.Actor(ActorKind.CONSUMER, consumer_id),
                  purpose="self_view", disclosed=f"adverse_action_notice:{reference}:printable", now=now)
    return _adverse(row)
