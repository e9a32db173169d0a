"""Application factory: one FastAPI app per store."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

import credo
from credo.api.logs import configure_logging
from credo.api.middleware import RequestContext
from credo.api.model_pin import OneModelPerRequest
from credo.api.problems import credo_error_handler, http_error_handler, validation_error_handler
from credo.api.routers import (
    accounts, circles, consents, credentials, disputes, events, game, health, invitations, notices, partners, records,
    scores, sharing,
)
from credo.errors import CredoError
from credo.service import Service, ledger_check
from credo.settings import Settings, get_settings
from credo.store import create_store_engine, upgrade_schema
from credo.web import mount_web

_log = logging.getLogger("credo.ledger")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the issuer key ring (a ring the store never signed with stops the start) and load the
    model bundle before the first request, then move everything
    allocated so far out of the garbage collector's sight (``gc.freeze``): the imported libraries
    and the model are millions of long-lived objects, and a full collection walking them is a
    pause of tens of milliseconds in the middle of some request. While serving, signed checkpoints
    of the access ledger's head are made as they fall due."""
    svc: Service = app.state.service
    svc.keys()
    try:
        svc.model_bundle()
    except CredoError:
        pass  # no model yet: scores answer MODEL_UNAVAILABLE until one is trained
    gc.collect()
    gc.freeze()
    anchoring = asyncio.create_task(_checkpoint_ledger(svc))
    following = asyncio.create_task(_follow_serving_model(svc))
    yield
    anchoring.cancel()
    following.cancel()


async def _follow_serving_model(svc: Service) -> None:
    """Switch to a newly published model (``credo model publish`` / ``rollback``) without a restart: look at
    the registry's serving pointer every ``model_refresh_seconds``; the new bundle loads in the thread pool
    while requests keep being answered by the old one (:mod:`credo.service.serving`)."""
    log = logging.getLogger("credo.model")
    while True:
        await asyncio.sleep(svc.settings.model_refresh_seconds)
        try:
            if await run_in_threadpool(svc.refresh_model):
                log.info("serving model switched", extra={"model_version": svc.model_bundle().version})
        except (SQLAlchemyError, CredoError) as exc:
            log.warning("serving model not refreshed: %s", type(exc).__name__)


async def _checkpoint_ledger(svc: Service) -> None:
    """Sign a checkpoint of the ledger's head whenever one is due (``ledger_check.checkpoint_if_due``),
    looking every ``ledger_checkpoint_seconds``; a failed attempt is logged and tried at the next look."""
    while True:
        await asyncio.sleep(svc.settings.ledger_checkpoint_seconds)
        try:
            await run_in_threadpool(ledger_check.checkpoint_if_due, svc, svc.now())
        except SQLAlchemyError as exc:
            _log.warning("ledger checkpoint not signed: %s", type(exc).__name__)


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, service: Service | None = None
) -> FastAPI:
    """Build the API over ``engine`` (or the store named by the settings).

    ``service`` (model bundle, issuer keys, clock) defaults to one built from the settings. Refuses
    (:class:`credo.settings.SettingsError`) settings a server may not run on (``Settings.require_serving``).
    """
    settings = settings or get_settings()
    settings.require_serving()
    if engine is None:
        engine = create_store_engine(settings.store_url)
        upgrade_schema(engine)
    app = FastAPI(
        title="Credo",
        version=credo.__version__,
        description="Opt-in, explainable credit scores. Errors carry stable codes (see `credo.errors`).",
        lifespan=_lifespan,
        docs_url=None,  # served by credo.web from packaged assets, not a CDN
        redoc_url=None,
    )
    configure_logging(settings.log_level)
    app.add_middleware(OneModelPerRequest)
    app.add_middleware(RequestContext, max_body=settings.max_request_bytes)
    app.state.engine = engine
    app.state.settings = settings
    app.state.service = service or Service(engine, settings)
    app.add_exception_handler(CredoError, credo_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error_handler)  # type: ignore[arg-type]
    # Routes are matched in order, one pattern at a time: the partner reads (eligibility, band,
    # score), the busiest, come first. No two routers share a path, so the order changes nothing else.
    app.include_router(partners.router)
    app.include_router(events.router)
    for consumer in (accounts, scores, consents, records, disputes, notices, credentials, circles, invitations, game):
        app.include_router(consumer.router)
    app.include_router(sharing.router)
    app.include_router(health.router)
    mount_web(app)
    return app
