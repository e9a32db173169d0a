"""Partner event reporting: a batch endpoint and an idempotent single-event PUT."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from credo.api.deps import EngineDep, PartnerDep, ServiceDep, SettingsDep
from credo.api.problems import ErrorResponse, error_response
from credo.api.text import CleanStr
from credo.errors import ErrorCode
from credo.ingest import ingest_records

router = APIRouter(prefix="/v1/events", tags=["events"])


class EventBatch(BaseModel):
    """Up to ``CREDO_MAX_BATCH_EVENTS`` (default 1000) flat event records.

    Each record follows one of the event schemas (``credo schema`` writes them
    all); ``partner_id`` may be omitted (the API key decides) and
    ``received_at`` must be (the server assigns it).
    """

    events: list[dict[str, Any]] = Field(min_length=1)


class EventError(BaseModel):
    code: str
    field: str | None
    rule: str
    message: str


class EventResult(BaseModel):
    index: int
    event_id: str | None
    status: Literal["accepted", "duplicate", "rejected"]
    errors: list[EventError]


class BatchResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    results: list[EventResult]


@router.post(
    "",
    response_model=BatchResult,
    responses={401: {"model": ErrorResponse}, 413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
    summary="Report a batch of events",
)
async def post_events(
    batch: EventBatch, partner_id: PartnerDep, engine: EngineDep, settings: SettingsDep, svc: ServiceDep
) -> Any:
    """Answer per event: accepted, duplicate, or rejected with code, field and rule.

    Good events in a batch are stored even when others are rejected; a rejected
    event writes nothing.
    """
    if len(batch.events) > settings.max_batch_events:
        return error_response(
            ErrorCode.BATCH_TOO_LARGE,
            f"at most {settings.max_batch_events} events per request",
            "events",
            f"max {settings.max_batch_events}",
        )
    # received_at from the service's clock, the one every read uses: an accepted event counts in the next read
    outcomes = await run_in_threadpool(ingest_records, engine, batch.events, partner_id=partner_id, now=svc.clock)
    results = [o.as_dict() for o in outcomes]
    return {
        "accepted": sum(o.status == "accepted" for o in outcomes),
        "duplicates": sum(o.status == "duplicate" for o in outcomes),
        "rejected": sum(o.status == "rejected" for o in outcomes),
        "results": results,
    }


@router.put(
    "/{event_id}",
    response_model=EventResult,
    status_code=201,
    responses={
        200: {"model": EventResult, "description": "Duplicate: already stored with the same content."},
        401: {"model": ErrorResponse},
        403: {"model": ErrorResponse},
        409: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
    },
    summary="Report one event idempotently",
)
async def put_event(
    event_id: CleanStr, response: Response, partner_id: PartnerDep, engine: EngineDep, svc: ServiceDep,
    event: dict[str, Any] = Body(...),
) -> Any:
    """201 when stored, 200 when it is a replay, 409 when the id holds other content."""
    if event.get("event_id", event_id) != event_id:
        return error_response(ErrorCode.INVALID_VALUE, "event_id in the body differs from the URL", "event_id", "matches URL")
    (outcome,) = await run_in_threadpool(ingest_records, engine, [{**event, "event_id": event_id}],
                                         partner_id=partner_id, now=svc.clock)
    if outcome.status == "rejected":
        first = outcome.problems[0]
        return error_response(first.code, first.message, first.field, first.rule)
    if outcome.status == "duplicate":
        response.status_code = 200
    return outcome.as_dict()


__all__ = ["router"]
