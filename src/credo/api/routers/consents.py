"""My consents: to access (a partner reading my score or band for a purpose) and to report (events about me)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from credo.api.deps import ConsumerDep, NowDep, ServiceDep
from credo.api.problems import AUTH, errors
from credo.api.schemas import AccessConsentIn, AccessConsentOut, ReportConsentIn, ReportConsentOut
from credo.api.text import CleanStr
from credo.registry import grant_report_consent, withdraw_report_consent
from credo.service import access, mydata

router = APIRouter(prefix="/v1", tags=["consumers"])


@router.get("/me/access-consents", response_model=list[AccessConsentOut], responses=AUTH,
            summary="My consents to access")
def list_access(me: ConsumerDep, svc: ServiceDep) -> Any:
    with svc.engine.connect() as conn:
        return access.list_consents(conn, me.consumer_id)


@router.post("/me/access-consents", response_model=AccessConsentOut, status_code=201,
             responses=errors(401, 403, 422), summary="Grant a partner access for one purpose and scope")
def grant_access(body: AccessConsentIn, me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    with svc.engine.begin() as conn:
        return access.grant(conn, me.consumer_id, body.partner_id, body.purpose, body.scope, body.expires_at, now)


@router.delete("/me/access-consents/{consent_id}", response_model=AccessConsentOut, responses=errors(401, 404, 422),
               summary="Revoke a consent to access, at once")
def revoke_access(consent_id: Annotated[int, Path(ge=1, le=2**53)], me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    with svc.engine.begin() as conn:
        return access.revoke(conn, me.consumer_id, consent_id, now)


@router.get("/me/report-consents", response_model=list[ReportConsentOut], responses=AUTH,
            summary="My consents to report")
def list_report(me: ConsumerDep, svc: ServiceDep) -> Any:
    with svc.engine.connect() as conn:
        return mydata.consents_to_report(conn, me.consumer_id)


@router.post("/me/report-consents", response_model=list[ReportConsentOut], status_code=201,
             responses=errors(401, 403, 422), summary="Let a partner report these event types about me")
def grant_report(body: ReportConsentIn, me: ConsumerDep, svc: ServiceDep) -> Any:
    with svc.engine.begin() as conn:
        grant_report_consent(conn, me.consumer_id, body.partner_id, body.event_types)
        return mydata.consents_to_report(conn, me.consumer_id)


@router.delete("/me/report-consents/{partner_id}", response_model=list[ReportConsentOut], responses=AUTH,
               summary="Withdraw consent to report (all types, or ?event_type=…)")
def withdraw_report(partner_id: CleanStr, me: ConsumerDep, svc: ServiceDep, event_type: CleanStr | None = None) -> Any:
    with svc.engine.begin() as conn:
        withdraw_report_consent(conn, me.consumer_id, partner_id, [event_type] if event_type else None)
        return mydata.consents_to_report(conn, me.consumer_id)
