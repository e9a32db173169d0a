"""Issuer keys (JWKS), the credential status list, online verification, and the ledger check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from credo.api.deps import CallerDep, NowDep, OptionalPartnerDep, ServiceDep
from credo.api.problems import errors
from credo.api.schemas import LedgerCheckpointOut
from credo.api.text import ApiModel
from credo.errors import CredoError, ErrorCode
from credo.ledger import ActorKind
from credo.service import access, ledger_check, sharing

router = APIRouter(prefix="/v1", tags=["credentials"])


class JWK(BaseModel):
    kty: str
    crv: str
    x: str
    kid: str
    alg: str | None = None
    use: str | None = None


class JWKS(BaseModel):
    keys: list[JWK]


class VerifyIn(ApiModel):
    token: str = Field(min_length=1, max_length=20000, description="SD-JWT+KB presentation.")
    audience: str = Field(min_length=1, max_length=500)
    nonce: str = Field(min_length=1, max_length=500)


class VerifyOut(BaseModel):
    valid: bool
    reason: str | None
    detail: str
    disclosed: dict[str, Any]
    kid: str | None


class LedgerReport(BaseModel):
    ok: bool
    entries_checked: int
    first_bad_seq: int | None
    problem: str | None
    detail: str
    head_seq: int
    head_hash: str
    checkpoint_seq: int | None = Field(description=(
        "The signed checkpoint the walk started from (its signature and entry checked; null: from the first "
        "entry). The full walk is `credo ledger verify`."))


@router.get("/.well-known/jwks.json", response_model=JWKS, response_model_exclude_none=True,
            summary="Issuer public keys (current and recently rotated)")
def jwks(svc: ServiceDep, now: NowDep) -> Any:
    return svc.keys().jwks(now)


@router.get("/credentials/status/1", summary="Token Status List (statuslist+jwt)",
            responses={200: {"content": {"application/statuslist+jwt": {"schema": {"type": "string"}}}}})
def status_list(svc: ServiceDep, now: NowDep) -> Response:
    return Response(sharing.status_token(svc, now), media_type="application/statuslist+jwt")


@router.post("/credentials/verify", response_model=VerifyOut, responses=errors(401, 422),
             summary="Verify a presented band credential online (recorded in the holder's ledger)")
def verify(body: VerifyIn, partner: OptionalPartnerDep, svc: ServiceDep, now: NowDep) -> Any:
    actor = access.Actor(ActorKind.PARTNER, partner) if isinstance(partner, str) else \
        access.Actor(ActorKind.SYSTEM, "anonymous-verifier")
    return sharing.verify_online(svc, body.token, body.audience, body.nonce, actor, now)


@router.get("/ledger/verify", response_model=LedgerReport, responses=errors(401),
            summary="Check the access ledger: the newest signed checkpoint and every entry after it")
def ledger_verify(caller: CallerDep, svc: ServiceDep) -> Any:
    """Read-only and incremental: its cost is one signature and the entries since the newest checkpoint
    (the server signs one every ``CREDO_LEDGER_CHECKPOINT_EVERY`` entries). For partners and consumers."""
    return ledger_check.quick_check(svc)


@router.get("/ledger/checkpoint", response_model=LedgerCheckpointOut, responses=errors(404),
            summary="The newest signed checkpoint of the ledger's head: keep it to prove later cuts or rewrites")
def ledger_checkpoint(svc: ServiceDep) -> Any:
    found = ledger_check.latest_checkpoint(svc)
    if found is None:
        raise CredoError(ErrorCode.NOT_FOUND, "the ledger has no checkpoint yet", "checkpoint")
    return found.public()
