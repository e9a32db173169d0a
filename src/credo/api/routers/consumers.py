"""Consumer accounts, sessions and everything under /v1/me (the consumer's own data and rights)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from credo.api.deps import ConsumerDep, NowDep, ServiceDep
from credo.api.problems import ErrorResponse
from credo.errors import CredoError, ErrorCode
from credo.events import EVENT_TYPES
from credo.ledger import ActorKind
from credo.registry import grant_report_consent, withdraw_report_consent
from credo.service import access, accounts, disputes, mydata, sharing, whatif
from credo.service import scores as scoring

router = APIRouter(prefix="/v1", tags=["consumers"])


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"model": ErrorResponse} for c in codes}


AUTH = errors(401, 422)
Text = Field(min_length=1, max_length=128)


class Registration(BaseModel):
    username: str = Field(min_length=3, max_length=128, pattern=r"^[A-Za-z0-9._@+-]+$")
    password: str = Field(min_length=1, max_length=1024)


class Account(BaseModel):
    account_id: str
    consumer_id: str


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class Session(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime


class Me(BaseModel):
    account_id: str
    consumer_id: str
    username: str
    created_at: datetime
    enrolled_at: datetime


class FactorGroupOut(BaseModel):
    group: str
    name: str
    weight: float | None = Field(None, description=(
        "The group's weight in percent, computed from the serving model (share of its point range, or of "
        "its mean contribution for the challenger)."))
    points: int
    max_points: int
    grade: Literal["A", "B", "C", "D", "E"]


class ReasonOut(BaseModel):
    code: str
    text: str
    action: str
    group: str


class ScoreOut(BaseModel):
    status: Literal["scored", "not_enough_data"]
    score: int | None
    band: str | None
    score_range: list[int]
    as_of: datetime
    model_version: str
    factor_groups: list[FactorGroupOut]
    reasons: list[ReasonOut] = Field(max_length=5)
    dispute_adjusted: bool
    how_to_become_scorable: str | None = None


class HistoryPoint(BaseModel):
    as_of: datetime
    scored_at: datetime
    score: int | None
    band: str | None
    status: str
    model_version: str
    kind: Literal["online", "batch"]


class WhatIf(BaseModel):
    changes: dict[str, Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)] | None] = Field(
        min_length=1, max_length=30, description=(
            "Input name → hypothetical value, in the unit GET /v1/me/score/what-if lists for it: percentages "
            "0-100 for ratios (80 = 80 %), money in major units of the currency shown (1234.5 = 1,234.50), "
            "whole counts, days and months, levels by number; null empties an input that may be empty. "
            "Raising an input that means debt, credit or applications is refused (WHATIF_ADDS_DEBT)."))


class CurrentBrief(BaseModel):
    status: str
    score: int | None
    band: str | None


class WhatIfOut(BaseModel):
    estimate: Literal[True]
    label: str
    units: str
    current: CurrentBrief
    estimated: ScoreOut
    changes: dict[str, float | None] = Field(description="The changes as given, in the units listed.")


class LevelOut(BaseModel):
    value: int
    label: str


class WhatIfInputBase(BaseModel):
    name: str
    description: str
    group: str
    group_name: str
    in_model: bool = Field(description="False: the serving model does not use it; changing it moves nothing.")
    unit: Literal["count", "days", "months", "percent", "money", "level"]
    currency: str | None = Field(description="ISO 4217 currency of a money input (null: none reported, or several).")
    value: float | None = Field(description="The current value as the model reads it (shares 0-1, money in minor "
                                            "units); null: no data.")
    current: float | None = Field(description="The current value in the unit above (percent, major units).")
    display: str = Field(description="The current value as text, e.g. '83.4 %', '1,234.50 CNY', '3'.")


class WhatIfInputOut(WhatIfInputBase):
    min: float
    max: float | None = Field(description="Largest value accepted (null: no upper bound).")
    whole_numbers: bool
    can_be_empty: bool
    lower_only: bool = Field(description="Raising it means debt, credit or applications: only lower values.")
    levels: list[LevelOut] | None


class WhatIfRefusedOut(WhatIfInputBase):
    rule: str


class WhatIfInputsOut(BaseModel):
    estimate: Literal[True]
    label: str
    units: str
    as_of: datetime
    current: CurrentBrief
    inputs: list[WhatIfInputOut]
    refused: list[WhatIfRefusedOut]


class AccessConsentIn(BaseModel):
    partner_id: str = Text
    purpose: access.Purpose
    scope: access.Scope
    expires_at: AwareDatetime


class AccessConsentOut(BaseModel):
    id: int
    partner_id: str
    purpose: str
    scope: str
    granted_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class ReportConsentIn(BaseModel):
    partner_id: str = Text
    event_types: list[Literal[EVENT_TYPES]] = Field(min_length=1)  # type: ignore[valid-type]


class ReportConsentOut(BaseModel):
    partner_id: str
    event_type: str
    granted_at: datetime
    withdrawn_at: datetime | None


class RecordOut(BaseModel):
    partner_id: str
    partner_name: str
    event_id: str
    type: str
    occurred_at: datetime
    received_at: datetime
    target_event_id: str | None
    payload: dict[str, Any]
    disputed: bool
    suppressed: str | None


class DisputeIn(BaseModel):
    partner_id: str = Text
    event_id: str = Text
    reason: str = Field(min_length=1, max_length=2000)


class DisputeInformationIn(BaseModel):
    information: str = Field(min_length=1, max_length=5000, description=(
        "Relevant information you add to your open dispute (once, within its first 30 days): forwarded to "
        "the reporting partner, and the deadline is extended by 15 days."))


class DisputeNoticeOut(BaseModel):
    id: int
    dispute_id: int
    partner_id: str
    recipient: Literal["furnisher", "consumer"]
    kind: Literal["opened", "information", "result"]
    notified_at: datetime
    due_by: datetime = Field(description="Latest time the notice was due: 5 business days (Mon-Fri).")
    body: dict[str, Any]


class DisputeBase(BaseModel):
    id: int
    partner_id: str
    event_id: str
    event_type: str
    reason: str
    status: Literal["open", "verified", "corrected", "retracted", "suppressed"]
    opened_at: datetime
    due_at: datetime = Field(description="Deadline in force: 30 days from opening, 45 if extended.")
    resolved_at: datetime | None
    resolution_note: str | None
    information: str | None
    information_at: datetime | None
    extended: bool


class DisputeOut(DisputeBase):
    notices: list[DisputeNoticeOut]
    result: DisputeNoticeOut | None = Field(description="The results notice sent when the dispute was resolved.")


class CredentialIn(BaseModel):
    holder_jwk: dict[str, str] = Field(description="The holder's public Ed25519 JWK (kty OKP, crv Ed25519, x).")
    ttl_minutes: int | None = Field(None, ge=1, le=1440)


class CredentialOut(BaseModel):
    id: str
    credential: str
    kid: str
    band: str
    expires_at: datetime
    disclosable_claims: list[str]


class LedgerEntryOut(BaseModel):
    seq: int
    at: datetime
    actor_kind: str
    actor: str
    purpose: str
    consent_id: str | None
    disclosed: str
    outcome: Literal["allowed", "denied"]
    reason_code: str | None
    hash: str


class Export(BaseModel):
    model_config = ConfigDict(extra="allow")
    consumer_id: str
    exported_at: datetime
    events: list[RecordOut]
    features: dict[str, Any] | None
    scores: list[HistoryPoint]
    report_consents: list[ReportConsentOut]
    access_consents: list[AccessConsentOut]
    disputes: list[DisputeOut]
    credentials: list[dict[str, Any]]
    ledger: list[LedgerEntryOut]


class Closure(BaseModel):
    password: str = Field(min_length=1, max_length=1024)


class ClosureOut(BaseModel):
    closed_at: datetime
    events_deleted: int
    credentials_revoked: int
    ledger_entries_pseudonymised: int


# ---------------------------------------------------------------- accounts and sessions


@router.post("/accounts", response_model=Account, status_code=201, responses=errors(409, 422),
             summary="Register a consumer account")
def register(body: Registration, svc: ServiceDep, now: NowDep) -> Any:
    """Creates the account and enrols a new consumer (nothing is consented by enrolling)."""
    return accounts.register(svc, body.username, body.password, now=now)


@router.post("/sessions", response_model=Session, status_code=201, responses=errors(401, 422),
             summary="Log in: a bearer session token")
def login(body: Login, svc: ServiceDep, now: NowDep) -> Any:
    token, expires = accounts.login(svc, body.username, body.password, now=now)
    return {"token": token, "expires_at": expires}


@router.delete("/sessions/current", status_code=204, responses=AUTH, summary="Log out (revoke this token)")
def logout(me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Response:
    accounts.logout(svc, me, now)
    return Response(status_code=204)


@router.get("/me", response_model=Me, responses=AUTH, summary="My account")
def get_me(me: ConsumerDep, svc: ServiceDep) -> Any:
    with svc.engine.connect() as conn:
        return accounts.account_info(conn, me)


# ---------------------------------------------------------------- score


@router.get("/me/score", response_model=ScoreOut, responses=errors(401, 422, 503), summary="My score now")
def my_score(me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    """Computed online with the serving model, recorded in the score history and the access ledger."""
    disputes.sweep(svc, now, me.consumer_id)
    result = scoring.compute(svc, me.consumer_id, now)
    with svc.engine.begin() as conn:
        scoring.persist(conn, result, now)
        access.record(conn, consumer_id=me.consumer_id, actor=access.Actor(ActorKind.CONSUMER, me.consumer_id),
                      purpose="self_view", disclosed="score+reasons", now=now)
    return result.public()


@router.get("/me/score/history", response_model=list[HistoryPoint], responses=AUTH, summary="My score history")
def my_history(me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    with svc.engine.begin() as conn:
        access.record(conn, consumer_id=me.consumer_id, actor=access.Actor(ActorKind.CONSUMER, me.consumer_id),
                      purpose="self_view", disclosed="score_history", now=now)
        return scoring.history(conn, me.consumer_id)


@router.get("/me/score/what-if", response_model=WhatIfInputsOut, responses=errors(401, 422, 503),
            summary="What-if inputs: what I can change, its current value and accepted range, in human units")
def my_what_if_inputs(me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    """Every input the simulator accepts, with its current value (as computed for the score now) in
    percent, money with its currency, counts, days, months or levels, and those it refuses, with why.
    Recorded in the access ledger (it shows the score and its inputs)."""
    disputes.sweep(svc, now, me.consumer_id)
    out = whatif.inputs(svc, me.consumer_id, now)
    with svc.engine.begin() as conn:
        access.record(conn, consumer_id=me.consumer_id, actor=access.Actor(ActorKind.CONSUMER, me.consumer_id),
                      purpose="self_view", disclosed="what_if_inputs", now=now)
    return out


@router.post("/me/score/what-if", response_model=WhatIfOut, responses=errors(401, 422, 503),
             summary="What-if simulator (an estimate)")
def my_what_if(body: WhatIf, me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    """Changes in the units GET /v1/me/score/what-if lists; the answer is labelled an estimate."""
    disputes.sweep(svc, now, me.consumer_id)
    out = whatif.what_if(svc, me.consumer_id, now, body.changes)
    with svc.engine.begin() as conn:
        access.record(conn, consumer_id=me.consumer_id, actor=access.Actor(ActorKind.CONSUMER, me.consumer_id),
                      purpose="self_view", disclosed="what_if_estimate", now=now)
    return out


# ---------------------------------------------------------------- consents


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
        return mydata._report_consents(conn, me.consumer_id)


@router.post("/me/report-consents", response_model=list[ReportConsentOut], status_code=201,
             responses=errors(401, 403, 422), summary="Let a partner report these event types about me")
def grant_report(body: ReportConsentIn, me: ConsumerDep, svc: ServiceDep) -> Any:
    with svc.engine.begin() as conn:
        grant_report_consent(conn, me.consumer_id, body.partner_id, body.event_types)
        return mydata._report_consents(conn, me.consumer_id)


@router.delete("/me/report-consents/{partner_id}", response_model=list[ReportConsentOut], responses=AUTH,
               summary="Withdraw consent to report (all types, or ?event_type=…)")
def withdraw_report(partner_id: str, me: ConsumerDep, svc: ServiceDep, event_type: str | None = None) -> Any:
    with svc.engine.begin() as conn:
        withdraw_report_consent(conn, me.consumer_id, partner_id, [event_type] if event_type else None)
        return mydata._report_consents(conn, me.consumer_id)


# ---------------------------------------------------------------- my data, disputes, credentials, ledger


@router.get("/me/records", response_model=list[RecordOut], responses=AUTH, summary="Every record held about me")
def my_records(me: ConsumerDep, svc: ServiceDep) -> Any:
    with svc.engine.connect() as conn:
        return mydata.records(conn, me.consumer_id)


@router.get("/me/export", response_model=Export, responses=AUTH, summary="Everything about me as JSON")
def my_export(me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    return mydata.export(svc, me.consumer_id, now)


@router.get("/me/disputes", response_model=list[DisputeOut], responses=AUTH, summary="My disputes")
def my_disputes(me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    disputes.sweep(svc, now, me.consumer_id)
    with svc.engine.connect() as conn:
        return disputes.consumer_disputes(conn, me.consumer_id)


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


@router.post("/me/credentials", response_model=CredentialOut, status_code=201, responses=errors(401, 422, 503),
             summary="Issue a band credential (SD-JWT VC) to present to anyone")
def issue_credential(body: CredentialIn, me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    return sharing.issue(svc, me.consumer_id, body.holder_jwk, now, body.ttl_minutes)


@router.get("/me/ledger", response_model=list[LedgerEntryOut], responses=AUTH,
            summary="Every access to my score, band, eligibility or credentials")
def my_ledger(me: ConsumerDep, svc: ServiceDep) -> Any:
    with svc.engine.connect() as conn:
        return mydata.ledger_entries(conn, me.consumer_id)


@router.post("/me/close", response_model=ClosureOut, responses=errors(401, 422), summary="Close my account")
def close(body: Closure, me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    """Deletes events, features and scores, revokes credentials and sessions, pseudonymises the ledger."""
    with svc.engine.connect() as conn:
        username = accounts.account_info(conn, me)["username"]
    try:
        accounts.login(svc, str(username), body.password, now=now)
    except CredoError as exc:
        raise CredoError(ErrorCode.AUTH_INVALID, "confirm closure with your password", "password") from exc
    return mydata.close_account(svc, me, now)
