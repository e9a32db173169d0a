"""My disputes: open one on a record, follow it, add information once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from credo.api.deps import ConsumerDep, NowDep, ServiceDep
from credo.api.problems import AUTH, errors
from credo.api.schemas import DisputeIn, DisputeInformationIn, DisputeOut
from credo.service import disputes

router = APIRouter(prefix="/v1", tags=["consumers"])


@router.get("/me/disputes", response_model=list[DisputeOut], responses=AUTH, summary="My disputes")
def my_disputes(me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    return disputes.consumer_disputes_now(svc, me.consumer_id, now)


@router.post("/me/disputes", response_model=DisputeOut, status_code=201, responses=errors(401, 404, 409, 422),
             summary="Dispute a record")
def open_dispute(body: DisputeIn, me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    """Flagged disputed in every partner answer at once; never lowers the score; suppressed if the
    reporting partner has not verified it within 30 days."""
    return disputes.open_dispute(svc, me.consumer_id, body.partner_id, body.event_id, body.reason, now)


@router.post("/me/disputes/{dispute_id}/information", response_model=DisputeOut,
             responses=errors(401, 404, 409, 422), summary="Add information to my open dispute")
def add_dispute_information(dispute_id: Annotated[int, Path(ge=1, le=2**53)], body: DisputeInformationIn,
                            me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    """Once, within the first 30 days: the reporting partner is sent it and has 15 more days (45 in all).
    NOT_FOUND if not your dispute, DISPUTE_CLOSED once resolved, DISPUTE_INFORMATION_TOO_LATE after day 30,
    DISPUTE_ALREADY_EXTENDED the second time."""
    return disputes.add_information(svc, me.consumer_id, dispute_id, body.information, now)
