"""Notices addressed to me: adverse-action notices and the results of my disputes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from credo.api.deps import ConsumerDep, NowDep, ServiceDep
from credo.api.problems import AUTH, errors
from credo.api.schemas import NoticeOut
from credo.api.text import CleanStr
from credo.service import notices

router = APIRouter(prefix="/v1", tags=["consumers"])


@router.get("/me/notices", response_model=list[NoticeOut], responses=AUTH,
            summary="Notices addressed to me: why a business declined me after a check, and my dispute results")
def my_notices(me: ConsumerDep, svc: ServiceDep) -> Any:
    with svc.engine.connect() as conn:
        return notices.consumer_notices(conn, me.consumer_id)


@router.get("/me/notices/{reference}", response_model=NoticeOut, responses=errors(401, 404, 422),
            summary="The printable copy of an adverse-action notice, from the link a business handed me")
def printable_notice(reference: Annotated[CleanStr, Path(min_length=1, max_length=40)],
                     token: Annotated[CleanStr, Query(min_length=1, max_length=100)],
                     me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    """Opens only in the session of the consumer the notice is addressed to, with the link's token:
    anyone else, a wrong token and an unknown reference get the same NOT_FOUND. Recorded in my ledger."""
    with svc.engine.begin() as conn:
        return notices.printable_notice(conn, me.consumer_id, reference, token, now)
