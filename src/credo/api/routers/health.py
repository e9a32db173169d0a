"""Liveness and readiness, for load balancers and orchestrators (no authentication, no consumer data)."""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import text

import credo
from credo.api.deps import ServiceDep
from credo.api.middleware import describe_exception
from credo.errors import CredoError
from credo.store import read_only
from credo.store.db import schema_is_current

router = APIRouter(prefix="/v1", tags=["operations"])
log = logging.getLogger("credo.health")

Check = Literal["ok", "failed", "unavailable"]


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, Check] = Field(description=(
        "store: a query answers; schema: at the latest migration; issuer_keys: the key ring opens and is the "
        "store's; model: the score model is loaded (``unavailable`` does not make the service unready: events "
        "are still taken, scores answer SCORE_MODEL_UNAVAILABLE)."))


@router.get("/health", response_model=Health, summary="Liveness: the process answers")
async def health() -> Any:
    return {"status": "ok", "version": credo.__version__}


def _store(svc: Any) -> None:
    with read_only(svc.engine) as conn:
        conn.execute(text("SELECT 1"))


def _schema(svc: Any) -> None:
    if not schema_is_current(svc.engine):
        raise RuntimeError("the store's schema is not at the latest migration (run credo db upgrade)")


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}},
            summary="Readiness: the store, its schema and the issuer keys are usable (503 otherwise)")
def ready(svc: ServiceDep, response: Response) -> Any:
    checks: dict[str, str] = {}
    for name, probe in (("store", lambda: _store(svc)), ("schema", lambda: _schema(svc)), ("issuer_keys", svc.keys)):
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure makes the service unready; logged without its message
            log.warning("readiness check failed", extra={"check": name, **describe_exception(exc)})
            checks[name] = "failed"
    try:
        svc.model_bundle()
        checks["model"] = "ok"
    except CredoError:
        checks["model"] = "unavailable"
    ok = checks["store"] == checks["schema"] == checks["issuer_keys"] == "ok"
    response.status_code = 200 if ok else 503
    return {"status": "ready" if ok else "not_ready", "checks": checks}
