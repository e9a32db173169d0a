"""Perk programmes and the signed eligibility check (Zhima ``brief.get``, made safer).

* Thresholds come from the fixed ladder (500, 550, … 750) and are registered in
  advance per programme; a check against anything else is refused.
* The answer is ``yes`` / ``no`` / ``not_enough_data`` (never treated as no),
  with a check id, signed (EdDSA JWS by the issuer key ring); a ``no`` carries
  the principal reasons and the adverse-action notice fields (FCRA §615(a)).
* Probing — more than ``probe_max_thresholds`` distinct thresholds or
  ``probe_max_checks`` checks for one consumer by one partner within the window —
  is refused (429) and flagged in the consumer's ledger.
* Open disputes are flagged in every answer.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select

from credo.credentials import THRESHOLD_LADDER
from credo.errors import CredoError, ErrorCode
from credo.ledger import ActorKind
from credo.policy.bands import SCORE_MAX, SCORE_MIN
from credo.policy.reasons import INQUIRY_REASON
from credo.service import access, disputes
from credo.service import scores as scoring
from credo.service.runtime import Service, is_active, utc
from credo.store.tables import eligibility_checks, perk_programmes

ELIGIBILITY_JWS_TYP = "credo-eligibility+jwt"


def _programme(r: Any) -> dict[str, Any]:
    return {"id": r["id"], "name": r["name"], "purpose": r["purpose"], "threshold": r["threshold"],
            "created_at": utc(r["created_at"])}


def register_programme(conn: Connection, partner_id: str, programme_id: str, name: str, purpose: str,
                       threshold: int, now: datetime) -> dict[str, Any]:
    access.require_credit_partner(conn, partner_id)
    if threshold not in THRESHOLD_LADDER:
        raise CredoError(ErrorCode.THRESHOLD_NOT_ON_LADDER, f"thresholds come from the ladder {THRESHOLD_LADDER}",
                         "threshold", "fixed ladder")
    if purpose not in access.PURPOSES:
        raise CredoError(ErrorCode.INVALID_VALUE, f"purpose must be one of {access.PURPOSES}", "purpose")
    if conn.execute(select(perk_programmes.c.id).where(perk_programmes.c.id == programme_id)).first():
        raise CredoError(ErrorCode.PROGRAMME_EXISTS, "a programme with this id exists", "id")
    conn.execute(insert(perk_programmes).values(id=programme_id, partner_id=partner_id, name=name, purpose=purpose,
                                                threshold=threshold, created_at=now))
    return _programme(conn.execute(select(perk_programmes).where(perk_programmes.c.id == programme_id))
                      .mappings().one())


def list_programmes(conn: Connection, partner_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(perk_programmes).where(perk_programmes.c.partner_id == partner_id)
                        .order_by(perk_programmes.c.id)).mappings()
    return [_programme(r) for r in rows]


def _resolve_programme(conn: Connection, partner_id: str, programme_id: str | None,
                       threshold: int | None) -> Any:
    q = select(perk_programmes).where(perk_programmes.c.partner_id == partner_id)
    if programme_id is not None:
        q = q.where(perk_programmes.c.id == programme_id)
    if threshold is not None:
        q = q.where(perk_programmes.c.threshold == threshold)
    rows = conn.execute(q.order_by(perk_programmes.c.id)).mappings().all()
    if programme_id is None and threshold is None or not rows:
        raise CredoError(ErrorCode.THRESHOLD_NOT_REGISTERED, "check only thresholds of your registered perk "
                         "programmes", "threshold" if programme_id is None else "programme_id", "registered")
    return rows[0]


def adverse_action(svc: Service, result: scoring.ScoreResult, now: datetime) -> dict[str, Any]:
    """The fields of an adverse-action notice (FCRA §615(a), Reg B): the partner sends it."""
    cfg = svc.config
    return {
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


def _check_probing(svc: Service, conn: Connection, partner_id: str, consumer_id: str, threshold: int,
                   now: datetime) -> None:
    since = now - timedelta(minutes=svc.config.probe_window_minutes)
    where = (eligibility_checks.c.partner_id == partner_id, eligibility_checks.c.consumer_id == consumer_id,
             eligibility_checks.c.checked_at > since)
    per_threshold = dict(conn.execute(select(eligibility_checks.c.threshold, func.count()).where(*where)
                                      .group_by(eligibility_checks.c.threshold)).all())
    count, seen = sum(per_threshold.values()), set(per_threshold)
    if count + 1 > svc.config.probe_max_checks or len(seen | {threshold}) > svc.config.probe_max_thresholds:
        raise CredoError(ErrorCode.PROBING_DETECTED, "too many checks or distinct thresholds for this consumer; "
                         "the pattern is flagged in the consumer's access ledger", "threshold", "probing")


def check(svc: Service, partner_id: str, consumer_id: str, programme_id: str | None, threshold: int | None,
          now: datetime) -> dict[str, Any]:
    """One eligibility check. On the hot path (score cached) validation, probing check, answer, history
    and ledger entry are one transaction; a stale score is recomputed outside it, then re-validated."""
    actor = access.Actor(ActorKind.PARTNER, partner_id)
    purpose, disclosed = "eligibility", f"eligibility:{threshold or programme_id}"
    result: scoring.ScoreResult | None = None
    fresh, answered, check_id = False, None, secrets.token_hex(16)
    for _attempt in range(4):
        denied: CredoError | None = None
        sweep_first = False
        with svc.serial(), svc.engine.begin() as conn:
            try:
                access.require_credit_partner(conn, partner_id)
                programme = _resolve_programme(conn, partner_id, programme_id, threshold)
                purpose, disclosed = programme["purpose"], f"eligibility:{programme['threshold']}"
                consent_id = access.check(conn, consumer_id, partner_id, programme["purpose"], "eligibility", now)
                sweep_first = disputes.due(conn, consumer_id, now)
                if result is None and not sweep_first:
                    result = scoring.cached(svc, conn, consumer_id, now)
                if result is not None and not sweep_first:
                    _check_probing(svc, conn, partner_id, consumer_id, programme["threshold"], now)
                    answered = _record_answer(conn, result, fresh, check_id, partner_id, consumer_id, programme,
                                              actor, now, consent_id)
            except CredoError as error:
                denied = error
                if error.code is ErrorCode.PROBING_DETECTED:
                    conn.execute(insert(eligibility_checks).values(
                        id=check_id, partner_id=partner_id, consumer_id=consumer_id, programme_id=programme["id"],
                        threshold=programme["threshold"], result="refused_probing", checked_at=now))
                    disclosed = f"probing_flagged:{programme['threshold']}"
                if is_active(conn, consumer_id):
                    access.record(conn, consumer_id=consumer_id, actor=actor, purpose=purpose, disclosed=disclosed,
                                  now=now, denied=error.code)
        if denied is not None:
            raise denied
        if answered is not None:
            break
        if sweep_first:
            disputes.sweep(svc, now, consumer_id)
            result = None
        else:
            result, fresh = scoring.compute(svc, consumer_id, now, with_groups=False), True
    else:  # pragma: no cover - only if the record keeps changing under us
        raise RuntimeError("eligibility check did not settle")
    assert result is not None
    answer, consent_id, flags = answered
    body = _body(check_id, consumer_id, partner_id, programme, answer, result, now, consent_id, flags)
    if answer == "no":
        body["reasons"] = result.reason_details()
        body["adverse_action"] = adverse_action(svc, result, now)
    elif answer == "not_enough_data":
        body["scoring_criteria"] = scoring.SCORING_CRITERIA.describe()
    body["signature"] = svc.keys().sign({"typ": ELIGIBILITY_JWS_TYP}, body)
    return body


def _record_answer(conn, result, fresh, check_id, partner_id, consumer_id, programme, actor, now,  # noqa: ANN001, ANN202
                   consent_id):
    """In the transaction that re-checked consent: the answer, its check row, history row and ledger entry."""
    if result.status != scoring.SCORED:
        answer = "not_enough_data"
    else:
        answer = "yes" if result.score >= programme["threshold"] else "no"
    if fresh:
        scoring.persist(conn, result, now)
    conn.execute(insert(eligibility_checks).values(
        id=check_id, partner_id=partner_id, consumer_id=consumer_id, programme_id=programme["id"],
        threshold=programme["threshold"], result=answer, checked_at=now))
    access.record(conn, consumer_id=consumer_id, actor=actor, purpose=programme["purpose"],
                  disclosed=f"eligibility:{programme['threshold']}:{answer}", now=now, consent_id=consent_id)
    return answer, consent_id, disputes.flags(conn, consumer_id)


def _body(check_id, consumer_id, partner_id, programme, answer, result, now, consent_id, flags):  # noqa: ANN001, ANN202
    return {
        "check_id": check_id, "consumer_id": consumer_id, "partner_id": partner_id, "programme_id": programme["id"],
        "threshold": programme["threshold"], "purpose": programme["purpose"], "result": answer,
        "as_of": result.as_of.isoformat(), "checked_at": now.isoformat(), "consent_id": consent_id,
        "disputed": bool(flags), "disputed_records": [{**f, "opened_at": f["opened_at"].isoformat()} for f in flags],
        "reasons": [], "adverse_action": None, "scoring_criteria": None,
    }


def partner_read(svc: Service, partner_id: str, consumer_id: str, purpose: str, scope: str,
                 now: datetime) -> dict[str, Any]:
    """Band (scope ``band``) or score with reasons (``score_with_reasons``) under a covering consent."""
    actor = access.Actor(ActorKind.PARTNER, partner_id)
    disclosed = "band" if scope == "band" else "score+reasons"
    result: scoring.ScoreResult | None = None
    fresh, done = False, False
    for _attempt in range(4):
        denied: CredoError | None = None
        sweep_first = False
        with svc.serial(), svc.engine.begin() as conn:
            try:
                access.require_credit_partner(conn, partner_id)
                consent_id = access.check(conn, consumer_id, partner_id, purpose, scope, now)
                sweep_first = disputes.due(conn, consumer_id, now)
                if result is None and not sweep_first:
                    result = scoring.cached(svc, conn, consumer_id, now)
                if result is not None and not sweep_first:
                    if fresh:
                        scoring.persist(conn, result, now)
                    access.record(conn, consumer_id=consumer_id, actor=actor, purpose=purpose, disclosed=disclosed,
                                  now=now, consent_id=consent_id)
                    flags = disputes.flags(conn, consumer_id)
                    done = True
            except CredoError as error:
                denied = error
                if is_active(conn, consumer_id):
                    access.record(conn, consumer_id=consumer_id, actor=actor, purpose=purpose, disclosed=disclosed,
                                  now=now, denied=error.code)
        if denied is not None:
            raise denied
        if done:
            break
        if sweep_first:
            disputes.sweep(svc, now, consumer_id)
            result = None
        else:
            result, fresh = scoring.compute(svc, consumer_id, now, with_groups=False), True
    else:  # pragma: no cover
        raise RuntimeError("read did not settle")
    assert result is not None
    out: dict[str, Any] = {"consumer_id": consumer_id, "status": result.status, "band": result.band,
                           "as_of": result.as_of, "model_version": result.model_version, "consent_id": consent_id,
                           "disputed": bool(flags), "disputed_records": flags}
    if scope == "score_with_reasons":
        out.update(score=result.score, score_range=[SCORE_MIN, SCORE_MAX], reasons=result.reason_details())
    if result.status != scoring.SCORED:
        out["scoring_criteria"] = scoring.SCORING_CRITERIA.describe()
    return out
