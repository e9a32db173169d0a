"""Partner side: perk programmes, signed eligibility checks, consented band/score reads, dispute queue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field, model_validator

from credo.api.deps import NowDep, PartnerCall, PartnerCallDep, PartnerDep, ServiceDep, hot_read
from credo.api.problems import errors
from credo.api.schemas import DisputeBase, DisputeNoticeOut, ReasonOut
from credo.api.text import ApiModel, Clean, CleanStr
from credo.service import access, disputes, perks

router = APIRouter(prefix="/v1", tags=["partners"])
PurposeParam = Annotated[access.Purpose, Clean, Query()]
READ_ERRORS = errors(401, 403, 422, 429, 503)


class ProgrammeIn(ApiModel):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=200)
    purpose: access.Purpose
    threshold: int = Field(ge=0, le=10_000, description="From the fixed ladder 500, 550, … 750.")


class ProgrammeOut(BaseModel):
    id: str
    name: str
    purpose: str
    threshold: int
    created_at: datetime


class EligibilityIn(ApiModel):
    consumer_id: str = Field(min_length=1, max_length=128)
    programme_id: str | None = Field(None, min_length=1, max_length=64)
    threshold: int | None = Field(None, ge=0, le=10_000)

    @model_validator(mode="after")
    def _one(self) -> EligibilityIn:
        if self.programme_id is None and self.threshold is None:
            raise ValueError("give programme_id or threshold (of a registered programme)")
        return self


class DisputeFlag(BaseModel):
    dispute_id: int
    record_type: str
    status: Literal["disputed"]
    opened_at: datetime


class SignedDisputeFlag(BaseModel):
    dispute_id: int
    record_type: str
    status: Literal["disputed"]
    opened_at: str


class NoticeRef(BaseModel):
    reference: str = Field(description="The adverse-action notice delivered to the consumer's account.")
    link: str = Field(description="Printable copy to hand to the customer: it opens only in their own Credo "
                                  "session (a consumer-bound token), never for you.")


class EligibilityOut(BaseModel):
    check_id: str
    consumer_id: str
    partner_id: str
    programme_id: str
    threshold: int
    purpose: str
    result: Literal["yes", "no", "not_enough_data"]
    as_of: str
    checked_at: str
    consent_id: int
    disputed: bool
    disputed_records: list[SignedDisputeFlag]
    notice: NoticeRef | None = Field(description="On a no: the reference of the adverse-action notice (score used, "
                                                 "key factors, rights) sent to the consumer; nothing of it is here.")
    scoring_criteria: str | None
    signature: str = Field(description="EdDSA JWS (typ credo-eligibility+jwt) over every other field; keys at "
                                       "/v1/.well-known/jwks.json.")


class ConsumerRead(BaseModel):
    consumer_id: str
    status: Literal["scored", "not_enough_data"]
    band: str | None
    as_of: datetime
    model_version: str
    consent_id: int
    disputed: bool
    disputed_records: list[DisputeFlag]
    score: int | None = None
    score_range: list[int] | None = None
    reasons: list[ReasonOut] | None = Field(None, max_length=5)
    scoring_criteria: str | None = None


class Resolution(ApiModel):
    action: disputes.Resolution
    note: str | None = Field(None, max_length=2000)


class PartnerDispute(DisputeBase):
    consumer_id: str
    notices: list[DisputeNoticeOut] = Field(description="Notices sent to you about this dispute.")


@router.post("/partners/programmes", response_model=ProgrammeOut, status_code=201,
             responses=errors(401, 403, 409, 422), summary="Register a perk programme on a ladder threshold")
def register_programme(body: ProgrammeIn, partner_id: PartnerDep, svc: ServiceDep, now: NowDep) -> Any:
    with svc.engine.begin() as conn:
        return perks.register_programme(conn, partner_id, body.id, body.name, body.purpose, body.threshold, now)


@router.get("/partners/programmes", response_model=list[ProgrammeOut], responses=errors(401),
            summary="My perk programmes")
def list_programmes(partner_id: PartnerDep, svc: ServiceDep) -> Any:
    with svc.engine.connect() as conn:
        return perks.list_programmes(conn, partner_id)


@router.post("/eligibility", response_model=EligibilityOut, responses=READ_ERRORS,
             summary="Does a consenting consumer qualify for a perk? yes / no / not_enough_data, signed")
async def eligibility(body: EligibilityIn, call: PartnerCallDep) -> Any:
    return await hot_read(call.svc, perks.check, call.svc, call.partner, body.consumer_id, body.programme_id,
                          body.threshold, call.now)


async def _read(scope: str, consumer_id: str, purpose: str, call: PartnerCall) -> Any:
    return await hot_read(call.svc, perks.partner_read, call.svc, call.partner, consumer_id, purpose, scope,
                          call.now)


@router.get("/partners/consumers/{consumer_id}/band", response_model=ConsumerRead, response_model_exclude_none=True,
            responses=READ_ERRORS, summary="A consenting consumer's band")
async def read_band(consumer_id: CleanStr, call: PartnerCallDep, purpose: PurposeParam) -> Any:
    return await _read("band", consumer_id, purpose, call)


@router.get("/partners/consumers/{consumer_id}/score", response_model=ConsumerRead, response_model_exclude_none=True,
            responses=READ_ERRORS, summary="A consenting consumer's score with reasons")
async def read_score(consumer_id: CleanStr, call: PartnerCallDep, purpose: PurposeParam) -> Any:
    return await _read("score_with_reasons", consumer_id, purpose, call)


@router.get("/partners/disputes", response_model=list[PartnerDispute], responses=errors(401, 422),
            summary="Disputes on records I reported")
def dispute_queue(partner_id: PartnerDep, svc: ServiceDep, now: NowDep,
                  status: Annotated[Literal["open", "verified", "corrected", "retracted", "suppressed"] | None,
                                    Clean] = "open") -> Any:
    disputes.sweep(svc, now)
    with svc.engine.connect() as conn:
        return disputes.partner_queue(conn, partner_id, status)


@router.get("/partners/dispute-notices", response_model=list[DisputeNoticeOut], responses=errors(401, 422),
            summary="Notices sent to me as the reporting partner (dispute opened, information added, suppressed)")
def dispute_notices(partner_id: PartnerDep, svc: ServiceDep, now: NowDep,
                    dispute_id: Annotated[int | None, Query(ge=1, le=2**53)] = None) -> Any:
    disputes.sweep(svc, now)
    with svc.engine.connect() as conn:
        return disputes.partner_notices(conn, partner_id, dispute_id)


@router.post("/partners/disputes/{dispute_id}/resolution", response_model=PartnerDispute,
             responses=errors(401, 404, 409, 422), summary="Verify, correct or retract a disputed record")
def resolve_dispute(dispute_id: Annotated[int, Path(ge=1, le=2**53)], body: Resolution, partner_id: PartnerDep, svc: ServiceDep, now: NowDep) -> Any:
    """``correct``: send the correction event through /v1/events first; ``retract`` suppresses the record."""
    return disputes.resolve(svc, partner_id, dispute_id, body.action, body.note, now)
