"""My score now, my score history, and the what-if simulator."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from credo.api.deps import ConsumerCallDep, ConsumerDep, NowDep, ServiceDep, hot_read
from credo.api.problems import AUTH, errors
from credo.api.schemas import HistoryPoint, ScoreOut, WhatIf, WhatIfInputsOut, WhatIfOut
from credo.service import selfview

router = APIRouter(prefix="/v1", tags=["consumers"])


@router.get("/me/score", response_model=ScoreOut, responses=errors(401, 422, 503), summary="My score now")
async def my_score(call: ConsumerCallDep) -> Any:
    """The serving model's answer as of now: served from the kept score while nothing that moves it has
    changed, else computed and recorded in the score history; every read is recorded in the access
    ledger. A kept read is answered on the event loop, a computation in the thread pool (hot_read)."""
    return await hot_read(call.svc, selfview.score, call.svc, call.me.consumer_id, call.now)


@router.get("/me/score/history", response_model=list[HistoryPoint], responses=AUTH, summary="My score history")
def my_history(me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    return selfview.history(svc, me.consumer_id, now)


@router.get("/me/score/what-if", response_model=WhatIfInputsOut, responses=errors(401, 422, 503),
            summary="What-if inputs: what I can change, its current value and accepted range, in human units")
def my_what_if_inputs(me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    """Every input the simulator accepts, with its current value (as computed for the score now) in
    percent, money with its currency, counts, days, months or levels, and those it refuses, with why.
    Recorded in the access ledger (it shows the score and its inputs)."""
    return selfview.what_if_inputs(svc, me.consumer_id, now)


@router.post("/me/score/what-if", response_model=WhatIfOut, responses=errors(401, 422, 503),
             summary="What-if simulator (an estimate)")
def my_what_if(body: WhatIf, me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    """Changes in the units GET /v1/me/score/what-if lists; the answer is labelled an estimate."""
    return selfview.what_if(svc, me.consumer_id, now, body.changes)
