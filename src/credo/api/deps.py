"""Request dependencies: the store engine and partner authentication."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy import Engine

from credo.errors import CredoError, ErrorCode
from credo.registry.partners import authenticate_api_key
from credo.settings import Settings

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Partner API key.")


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def current_partner(
    engine: Annotated[Engine, Depends(get_engine)], api_key: Annotated[str | None, Security(api_key_header)]
) -> str:
    """The id of the partner whose API key signed the request."""
    if not api_key:
        raise CredoError(ErrorCode.AUTH_MISSING, "send the partner API key in X-API-Key", "X-API-Key")
    with engine.connect() as conn:
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


def get_service(request: Request) -> Service:
    return request.app.state.service


def get_now(request: Request) -> datetime:
    """The injected clock (``app.state.service.clock``); override this dependency in tests to move time."""
    return request.app.state.service.now()


ServiceDep = Annotated[Service, Depends(get_service)]
NowDep = Annotated[datetime, Depends(get_now)]


def optional_consumer(
    svc: ServiceDep, now: NowDep, creds: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
) -> Principal | CredoError:
    if creds is None or not creds.credentials:
        return CredoError(ErrorCode.AUTH_MISSING, "send the session token as Authorization: Bearer", "Authorization")
    try:
        with svc.serial(), svc.engine.connect() as conn:
            return authenticate(conn, creds.credentials, now)
    except CredoError as exc:
        return exc


def current_consumer(principal: Annotated[Principal | CredoError, Depends(optional_consumer)]) -> Principal:
    if isinstance(principal, CredoError):
        raise principal
    return principal


def optional_partner(
    svc: ServiceDep, api_key: Annotated[str | None, Security(api_key_header)]
) -> str | CredoError:
    try:
        with svc.serial():
            return current_partner(svc.engine, api_key)
    except CredoError as exc:
        return exc


ConsumerDep = Annotated[Principal, Depends(current_consumer)]
OptionalConsumerDep = Annotated[Principal | CredoError, Depends(optional_consumer)]
OptionalPartnerDep = Annotated[str | CredoError, Depends(optional_partner)]
