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
