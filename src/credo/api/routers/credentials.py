"""My band credentials (SD-JWT VC): issue one to present to anyone. Verifying them is :mod:`.sharing`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from credo.api.deps import ConsumerDep, NowDep, ServiceDep
from credo.api.problems import errors
from credo.api.schemas import CredentialIn, CredentialOut
from credo.service import sharing

router = APIRouter(prefix="/v1", tags=["consumers"])


@router.post("/me/credentials", response_model=CredentialOut, status_code=201, responses=errors(401, 422, 503),
             summary="Issue a band credential (SD-JWT VC) to present to anyone")
def issue_credential(body: CredentialIn, me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    return sharing.issue(svc, me.consumer_id, body.holder_jwk, now, body.ttl_minutes)
