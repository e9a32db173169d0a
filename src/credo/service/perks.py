"""Perk programmes and the signed eligibility check (Zhima ``brief.get``, made safer).

* Thresholds come from the fixed ladder (500, 550, … 750) and are registered in
  advance per programme; a check against anything else is refused.
* The answer is ``yes`` / ``no`` / ``not_enough_data`` (never treated as no),
  with a check id, signed (EdDSA JWS by the issuer key ring). A ``no`` discloses
  nothing more to the partner than the notice's reference and printable-copy link:
  the adverse-action notice (score used, key factors, rights; FCRA §615(a)) goes to
  the consumer (:mod:`credo.service.notices`).
* Probing — more than ``probe_max_thresholds`` distinct thresholds or
  ``probe_max_checks`` checks for one consumer by one partner within the window, or
  more than ``probe_max_thresholds_all_partners`` distinct thresholds answered for one
  consumer by all partners together — is refused (429) and flagged in the consumer's ledger.
* Open disputes are flagged in every answer.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from collections.abc import Callable
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, bindparam, exists, func, insert, select

from credo.credentials import THRESHOLD_LADDER
from credo.errors import CredoError, ErrorCode
from credo.ledger import ActorKind
from credo.policy.bands import SCORE_MAX, SCORE_MIN
from credo.service import access, disputes, notices
from credo.service import scores as scoring
from credo.service.runtime import Service, is_active, utc
from credo.store.prepared import Prepared
from credo.store.tables import eligibility_checks, partners, perk_programmes

ELIGIBILITY_JWS_TYP = "credo-eligibility+jwt"
#: The result of a check refused as probing (a check row, nothing disclosed).
REFUSED_PROBING = "refused_probing"


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


#: The partner's kind and its programmes (a partner has a handful), in one statement built once.
_PARTNER_PROGRAMMES = Prepared(select(
    partners.c.kind, perk_programmes.c.id, perk_programmes.c.purpose, perk_programmes.c.threshold,
).select_from(partners.outerjoin(perk_programmes, perk_programmes.c.partner_id == partners.c.id)).where(
    partners.c.id == bindparam("partner_id")).order_by(perk_programmes.c.id))


def _resolve_programme(conn: Connection, partner_id: str, programme_id: str | None,
                       threshold: int | None) -> dict[str, Any]:
    """The programme a check is against, after refusing non-credit partners."""
    rows = _PARTNER_PROGRAMMES.all(conn, partner_id=partner_id)
    if rows:
        access.require_credit_kind(rows[0].kind)
    matching = [r for r in rows if r.id is not None and (programme_id is None or r.id == programme_id)
                and (threshold is None or r.threshold == threshold)]
    if programme_id is None and threshold is None or not matching:
        raise CredoError(ErrorCode.THRESHOLD_NOT_REGISTERED, "check only thresholds of your registered perk "
                         "programmes", "threshold" if programme_id is None else "programme_id", "registered")
    r = matching[0]
    return {"id": r.id, "purpose": r.purpose, "threshold": r.threshold}


#: How many of the partner's latest checks of the consumer in the window fall on each threshold,
#: looking at the newest ``cap`` only: enough to decide, so the look-up stays bounded however long
#: a prober keeps going.
_RECENT_CHECKS = select(eligibility_checks.c.threshold).where(
    eligibility_checks.c.partner_id == bindparam("partner_id"),
    eligibility_checks.c.consumer_id == bindparam("consumer_id"),
    eligibility_checks.c.checked_at > bindparam("since"),
).order_by(eligibility_checks.c.checked_at.desc()).limit(bindparam("cap")).subquery()
_PROBES = Prepared(select(_RECENT_CHECKS.c.threshold, func.count()).group_by(_RECENT_CHECKS.c.threshold))
_INSERT_CHECK = Prepared(insert(eligibility_checks).values(
    {c.name: bindparam(c.name, type_=c.type) for c in eligibility_checks.c}))


#: Which rungs of the ladder were answered for the consumer in the window, by any partner: one
#: index probe per rung, however many checks there were.
_ANSWERED_RUNGS = Prepared(select(*(exists().where(and_(
    eligibility_checks.c.consumer_id == bindparam("consumer_id"), eligibility_checks.c.threshold == rung,
    eligibility_checks.c.checked_at > bindparam("since"), eligibility_checks.c.result != REFUSED_PROBING,
)).label(f"t{rung}") for rung in THRESHOLD_LADDER)))


def _check_probing(svc: Service, conn: Connection, partner_id: str, consumer_id: str, threshold: int,
                   now: datetime) -> None:
    """Refuse the check if it would be one too many in the window, or one distinct threshold too many
    for this partner, or for all partners together (two partners must not walk the ladder between
    them). Reading at most ``probe_max_checks`` rows is exact: that many already means refusal, and
    fewer are all of them."""
    cfg = svc.settings
    since = now - timedelta(minutes=cfg.probe_window_minutes)
    per_threshold = dict(_PROBES.all(conn, partner_id=partner_id, consumer_id=consumer_id, since=since,
                                     cap=cfg.probe_max_checks))
    count = sum(per_threshold.values())
    if count + 1 > cfg.probe_max_checks or len(set(per_threshold) | {threshold}) > cfg.probe_max_thresholds:
        raise CredoError(ErrorCode.PROBING_DETECTED, "too many checks or distinct thresholds for this consumer; "
                         "the pattern is flagged in the consumer's access ledger", "threshold", "probing")
    answered = _ANSWERED_RUNGS.first(conn, consumer_id=consumer_id, since=since)
    assert answered is not None  # EXISTS columns without FROM: always one row
    rungs = {rung for rung, hit in zip(THRESHOLD_LADDER, answered) if hit}
    if len(rungs | {threshold}) > cfg.probe_max_thresholds_all_partners:
        raise CredoError(ErrorCode.PROBING_DETECTED, "too many distinct thresholds asked about this consumer by "
                         "all partners together; the pattern is flagged in the consumer's access ledger",
                         "threshold", "probing across partners")


class _Answer(NamedTuple):
    result: scoring.ScoreResult
    consent_id: int
    flags: list[dict[str, Any]]
    extra: Any


def _answer_from_score(svc: Service, consumer_id: str, now: datetime,
                       authorise: Callable[[Connection], int],
                       respond: Callable[[Connection, scoring.ScoreResult, int], Any],
                       record_denial: Callable[[Connection, CredoError], None],
                       cached_only: bool = False) -> _Answer | None:
    """The shared shape of a partner's read: in ONE transaction, ``authorise`` (consent, programme…;
    returns the consent id), take the day's cached score and ``respond`` (history, check row, ledger
    entry); a refusal is recorded by ``record_denial`` in that transaction and raised. A stale score
    is computed, or an overdue dispute swept, outside the transaction, then everything is re-validated,
    so an answer never rests on a consent or record that changed meanwhile. With ``cached_only`` a
    read that would need that work returns None instead, having written nothing."""
    result: scoring.ScoreResult | None = None
    fresh = False
    for _attempt in range(4):
        denied: CredoError | None = None
        answer: _Answer | None = None
        sweep_first = False
        with svc.serial(), svc.engine.begin() as conn:
            try:
                consent_id = authorise(conn)
                sweep_first, flags = disputes.open_state(conn, consumer_id, now)
                if result is None and not sweep_first:
                    result = scoring.cached(svc, conn, consumer_id, now)
                if result is not None and not sweep_first:
                    if fresh:
                        scoring.persist(conn, result, now)
                    extra = respond(conn, result, consent_id)
                    answer = _Answer(result, consent_id, flags, extra)
            except CredoError as error:
                denied = error
                if is_active(conn, consumer_id):
                    record_denial(conn, error)
        if denied is not None:
            raise denied
        if answer is not None or cached_only:
            return answer
        if sweep_first:
            disputes.sweep(svc, now, consumer_id)
            result = None
        else:
            result, fresh = scoring.compute(svc, consumer_id, now, with_groups=False), True
    raise RuntimeError("the consumer's record kept changing during the read")  # pragma: no cover


def check(svc: Service, partner_id: str, consumer_id: str, programme_id: str | None, threshold: int | None,
          now: datetime, *, cached_only: bool = False) -> dict[str, Any] | None:
    """One eligibility check: programme, consent, probing, answer, check row and ledger entry in one
    transaction (see :func:`_answer_from_score`), then the signed body; None if ``cached_only`` and
    the day's score is not cached."""
    actor = access.Actor(ActorKind.PARTNER, partner_id)
    check_id = secrets.token_hex(16)
    asked: dict[str, Any] = {"id": programme_id, "purpose": "eligibility", "threshold": threshold or programme_id}

    def authorise(conn: Connection) -> int:
        asked.update(_resolve_programme(conn, partner_id, programme_id, threshold))
        return access.check(conn, consumer_id, partner_id, asked["purpose"], "eligibility", now)

    def respond(conn: Connection, result: scoring.ScoreResult,
                consent_id: int) -> tuple[str, dict[str, str] | None]:
        _check_probing(svc, conn, partner_id, consumer_id, asked["threshold"], now)
        if result.status != scoring.SCORED:
            answer = "not_enough_data"
        else:
            answer = "yes" if result.score >= asked["threshold"] else "no"
        _insert_check(conn, check_id, partner_id, consumer_id, asked, answer, now)
        access.record(conn, consumer_id=consumer_id, actor=actor, purpose=asked["purpose"],
                      disclosed=f"eligibility:{asked['threshold']}:{answer}", now=now, consent_id=consent_id)
        notice = notices.deliver_adverse_action(conn, svc, check_id=check_id, consumer_id=consumer_id,
                                                partner_id=partner_id, programme=asked, result=result,
                                                now=now) if answer == "no" else None
        return answer, notice

    def record_denial(conn: Connection, error: CredoError) -> None:
        disclosed = f"eligibility:{asked['threshold']}"
        if error.code is ErrorCode.PROBING_DETECTED:
            _insert_check(conn, check_id, partner_id, consumer_id, asked, REFUSED_PROBING, now)
            disclosed = f"probing_flagged:{asked['threshold']}"
        access.record(conn, consumer_id=consumer_id, actor=actor, purpose=asked["purpose"], disclosed=disclosed,
                      now=now, denied=error.code)

    found = _answer_from_score(svc, consumer_id, now, authorise, respond, record_denial, cached_only)
    if found is None:
        return None
    result, consent_id, flags, (answer, notice) = found
    body = _body(check_id, consumer_id, partner_id, asked, answer, result, now, consent_id, flags)
    body["notice"] = notice
    if answer == "not_enough_data":
        body["scoring_criteria"] = scoring.SCORING_CRITERIA.describe()
    body["signature"] = svc.keys().sign({"typ": ELIGIBILITY_JWS_TYP}, body)
    return body


def _insert_check(conn: Connection, check_id: str, partner_id: str, consumer_id: str, programme: dict[str, Any],
                  result: str, now: datetime) -> None:
    _INSERT_CHECK.run(conn, id=check_id, partner_id=partner_id, consumer_id=consumer_id,
                      programme_id=programme["id"], threshold=programme["threshold"], result=result, checked_at=now)


def _body(check_id, consumer_id, partner_id, programme, answer, result, now, consent_id, flags):  # noqa: ANN001, ANN202
    return {
        "check_id": check_id, "consumer_id": consumer_id, "partner_id": partner_id, "programme_id": programme["id"],
        "threshold": programme["threshold"], "purpose": programme["purpose"], "result": answer,
        "as_of": result.as_of.isoformat(), "checked_at": now.isoformat(), "consent_id": consent_id,
        "disputed": bool(flags), "disputed_records": [{**f, "opened_at": f["opened_at"].isoformat()} for f in flags],
        "notice": None, "scoring_criteria": None,
    }


def partner_read(svc: Service, partner_id: str, consumer_id: str, purpose: str, scope: str,
                 now: datetime, *, cached_only: bool = False) -> dict[str, Any] | None:
    """Band (scope ``band``) or score with reasons (``score_with_reasons``) under a covering consent;
    None if ``cached_only`` and the day's score is not cached."""
    actor = access.Actor(ActorKind.PARTNER, partner_id)
    disclosed = "band" if scope == "band" else "score+reasons"

    def authorise(conn: Connection) -> int:
        access.require_credit_partner(conn, partner_id)
        return access.check(conn, consumer_id, partner_id, purpose, scope, now)

    def respond(conn: Connection, result: scoring.ScoreResult, consent_id: int) -> None:
        access.record(conn, consumer_id=consumer_id, actor=actor, purpose=purpose, disclosed=disclosed, now=now,
                      consent_id=consent_id)

    def record_denial(conn: Connection, error: CredoError) -> None:
        access.record(conn, consumer_id=consumer_id, actor=actor, purpose=purpose, disclosed=disclosed, now=now,
                      denied=error.code)

    found = _answer_from_score(svc, consumer_id, now, authorise, respond, record_denial, cached_only)
    if found is None:
        return None
    result, consent_id, flags, _ = found
    out: dict[str, Any] = {"consumer_id": consumer_id, "status": result.status, "band": result.band,
                           "as_of": result.as_of, "model_version": result.model_version, "consent_id": consent_id,
                           "disputed": bool(flags), "disputed_records": flags}
    if scope == "score_with_reasons":
        out.update(score=result.score, score_range=[SCORE_MIN, SCORE_MAX], reasons=result.reason_details())
    if result.status != scoring.SCORED:
        out["scoring_criteria"] = scoring.SCORING_CRITERIA.describe()
    return out
