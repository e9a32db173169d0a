"""My band credentials (SD-JWT VC): issue one to present to anyone, list them, revoke one.
Verifying them is :mod:`.sharing`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from credo.api.deps import ConsumerDep, NowDep, ServiceDep
from credo.api.problems import AUTH, errors
from credo.api.schemas import CredentialIn, CredentialOut, IssuedCredentialOut
from credo.api.text import CleanStr
from credo.service import sharing, wallet

router = APIRouter(prefix="/v1", tags=["consumers"])


@router.post("/me/credentials", response_model=CredentialOut, status_code=201, responses=errors(401, 422, 503),
             summary="Issue a band credential (SD-JWT VC) to present to anyone")
def issue_credential(body: CredentialIn, me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    return sharing.issue(svc, me.consumer_id, body.holder_jwk, now, body.ttl_minutes)


@router.get("/me/credentials", response_model=list[IssuedCredentialOut], responses=AUTH,
            summary="The band credentials issued to me, with their status")
def list_credentials(me: ConsumerDep, svc: ServiceDep) -> Any:
    with svc.engine.connect() as conn:
        return sharing.list_credentials(conn, me.consumer_id)


@router.delete("/me/credentials/{credential_id}", response_model=list[IssuedCredentialOut],
               responses=errors(401, 404, 422), summary="Revoke one of my band credentials, at once")
def revoke_credential(credential_id: Annotated[CleanStr, Path(min_length=1, max_length=32, pattern="^[0-9a-f]+$")],
                      me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    """Verifiers see it revoked in the status list from now on; NOT_FOUND if it is not yours or already revoked."""
    with svc.engine.begin() as conn:
        wallet.revoke(conn, me.consumer_id, credential_id, now)
        return sharing.list_credentials(conn, me.consumer_id)
