"""My data: every record held about me, the full export, and the access ledger of reads about me."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from credo.api.deps import ConsumerDep, NowDep, ServiceDep
from credo.api.problems import AUTH
from credo.api.schemas import Export, LedgerEntryOut, RecordOut
from credo.service import mydata

router = APIRouter(prefix="/v1", tags=["consumers"])


@router.get("/me/records", response_model=list[RecordOut], responses=AUTH, summary="Every record held about me")
def my_records(me: ConsumerDep, svc: ServiceDep) -> Any:
    with svc.engine.connect() as conn:
        return mydata.records(conn, me.consumer_id)


@router.get("/me/export", response_model=Export, responses=AUTH, summary="Everything about me as JSON")
def my_export(me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    return mydata.export(svc, me.consumer_id, now)


@router.get("/me/ledger", response_model=list[LedgerEntryOut], responses=AUTH,
            summary="Every access to my score, band, eligibility or credentials")
def my_ledger(me: ConsumerDep, svc: ServiceDep) -> Any:
    with svc.engine.connect() as conn:
        return mydata.ledger_entries(conn, me.consumer_id)
