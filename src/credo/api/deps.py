"""Request dependencies: the store engine and partner authentication."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader
from sqlalchemy import Engine

from credo.errors import CredoError, ErrorCode
from credo.registry.partners import authenticate_api_key
from credo.settings import Settings
from credo.store import read_only

T = TypeVar("T")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Partner API key.")


def _no_api_key() -> CredoError:
    return CredoError(ErrorCode.AUTH_MISSING, "send the partner API key in X-API-Key", "X-API-Key")


# Dependencies that only read app state are ``async def``: FastAPI runs a plain ``def``
# dependency in the thread pool, one hop per dependency per request.
async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def current_partner(
    engine: Annotated[Engine, Depends(get_engine)], api_key: Annotated[str | None, Security(api_key_header)]
) -> str:
    """The id of the partner whose API key signed the request."""
    if not api_key:
        raise _no_api_key()
    with read_only(engine) as conn:
        return authenticate_api_key(conn, api_key)


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PartnerDep = Annotated[str, Depends(current_partner)]


# ---------------------------------------------------------------- the score service (issue 4)

from datetime import datetime  # noqa: E402

from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer  # noqa: E402

from credo.service import Service  # noqa: E402
from credo.service.accounts import Principal, authenticate  # noqa: E402

bearer = HTTPBearer(auto_error=False, description="Consumer session token from POST /v1/sessions.")


async def get_service(request: Request) -> Service:
    return request.app.state.service


async def get_now(request: Request) -> datetime:
    """The injected clock (``app.state.service.clock``); override this dependency in tests to move time."""
    return request.app.state.service.now()


ServiceDep = Annotated[Service, Depends(get_service)]
NowDep = Annotated[datetime, Depends(get_now)]


def _session_principal(svc: Service, token: str, now: datetime) -> Principal | CredoError:
    try:
        with svc.serial(), svc.engine.connect() as conn:
            return authenticate(conn, token, now)
    except CredoError as exc:
        return exc


async def current_consumer(
    svc: ServiceDep, now: NowDep, creds: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
) -> Principal:
    """The consumer a session token names (partner calls carry no token: they never leave the event loop here)."""
    if creds is None or not creds.credentials:
        raise CredoError(ErrorCode.AUTH_MISSING, "send the session token as Authorization: Bearer", "Authorization")
    principal = await store_call(svc, _session_principal, svc, creds.credentials, now)
    if isinstance(principal, CredoError):
        raise principal
    return principal


async def _partner_from_key(svc: Service, api_key: str | None) -> str | CredoError:
    if not api_key:
        return _no_api_key()
    return await store_call(svc, _key_partner, svc, api_key)


async def optional_partner(
    svc: ServiceDep, api_key: Annotated[str | None, Security(api_key_header)]
) -> str | CredoError:
    """The partner an API key names, or why there is none (consumer calls carry no key)."""
    return await _partner_from_key(svc, api_key)


async def authenticated_caller(
    svc: ServiceDep, now: NowDep, api_key: Annotated[str | None, Security(api_key_header)],
    creds: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> str:
    """A partner (API key) or a consumer (session token), as ``partner:<id>`` / ``consumer:<id>``."""
    if api_key:
        partner = await _partner_from_key(svc, api_key)
        if isinstance(partner, CredoError):
            raise partner
        return f"partner:{partner}"
    return f"consumer:{(await current_consumer(svc, now, creds)).consumer_id}"


@dataclass(frozen=True)
class PartnerCall:
    """A partner read's caller, resolved in one dependency: FastAPI spends tens of microseconds on
    each dependency it solves, a sizeable share of an answer from the cached score."""

    svc: Service
    now: datetime
    partner: str


async def partner_call(request: Request, api_key: Annotated[str | None, Security(api_key_header)]) -> PartnerCall:
    """The partner whose API key signed the request, before anything about a consumer is looked at:
    a call without a valid key is refused the same way, by the same steps, whichever consumer id it
    names, and touches nothing of theirs (no ledger entry: an anonymous caller cannot write into
    anyone's ledger, nor learn from the answer or its timing whether an id exists)."""
    svc: Service = request.app.state.service
    partner = await _partner_from_key(svc, api_key)
    if isinstance(partner, CredoError):
        raise partner
    return PartnerCall(svc, svc.now(), partner)  # the injected clock, as get_now


@dataclass(frozen=True)
class ConsumerCall:
    """A consumer's own read, its caller resolved in one dependency (as :class:`PartnerCall`): the
    service, the injected clock's now, and the consumer the session token names."""

    svc: Service
    now: datetime
    me: Principal


async def consumer_call(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> ConsumerCall:
    svc: Service = request.app.state.service
    now = svc.now()  # the injected clock, as get_now
    return ConsumerCall(svc, now, await current_consumer(svc, now, creds))


def _inline(svc: Service) -> bool:
    """Whether short store work runs on the event loop (SQLite: CPU-bound, serialised anyway)."""
    return svc.engine.dialect.name == "sqlite"


async def store_call(svc: Service, fn: Callable[..., T], *args: Any) -> T:
    """Run a short store operation from an ``async def`` endpoint or dependency.

    On SQLite it runs inline: an indexed look-up or a one-transaction read is tens to hundreds of
    microseconds of CPU, serialised by the process's store lock anyway, and a hop to the thread pool
    would only add GIL hand-offs and latency. On a networked database it runs in the thread pool,
    so round trips do not hold up the event loop. Never use it for work that can take long (a
    score computation): see :func:`hot_read`."""
    if _inline(svc):
        return fn(*args)
    return await run_in_threadpool(fn, *args)


async def hot_read(svc: Service, read: Callable[..., T | None], *args: Any) -> T:
    """A partner read (eligibility, band, score): answered inline from the day's cached score when
    there is one (:func:`store_call`), else — a score to compute or an overdue dispute to sweep,
    which can take hundreds of milliseconds — in the thread pool."""
    if _inline(svc):
        answer = read(*args, cached_only=True)
        if answer is not None:
            return answer
    return await run_in_threadpool(read, *args)


def _key_partner(svc: Service, api_key: str) -> str | CredoError:
    try:
        return current_partner(svc.engine, api_key)
    except CredoError as exc:
        return exc


ConsumerDep = Annotated[Principal, Depends(current_consumer)]
OptionalPartnerDep = Annotated[str | CredoError, Depends(optional_partner)]
PartnerCallDep = Annotated[PartnerCall, Depends(partner_call)]
ConsumerCallDep = Annotated[ConsumerCall, Depends(consumer_call)]
CallerDep = Annotated[str, Depends(authenticated_caller)]
