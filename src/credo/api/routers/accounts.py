"""Consumer accounts and sessions: register, log in and out, my account, close it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from credo.api.deps import ConsumerDep, NowDep, ServiceDep
from credo.api.problems import AUTH, errors
from credo.api.schemas import Account, Closure, ClosureOut, Login, Me, Registration, Session
from credo.service import accounts, mydata

router = APIRouter(prefix="/v1", tags=["consumers"])


@router.post("/accounts", response_model=Account, status_code=201, responses=errors(409, 422),
             summary="Register a consumer account")
def register(body: Registration, svc: ServiceDep, now: NowDep) -> Any:
    """Creates the account and enrols a new consumer (nothing is consented by enrolling)."""
    return accounts.register(svc, body.username, body.password, now=now)


@router.post("/sessions", response_model=Session, status_code=201, responses=errors(401, 422, 429),
             summary="Log in: a bearer session token (failed logins are rate-limited per username and client)")
def login(body: Login, request: Request, svc: ServiceDep, now: NowDep) -> Any:
    client = request.client.host if request.client else "unknown"
    token, expires = accounts.login(svc, body.username, body.password, now=now, client=client)
    return {"token": token, "expires_at": expires}


@router.delete("/sessions/current", status_code=204, responses=AUTH, summary="Log out (revoke this token)")
def logout(me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Response:
    accounts.logout(svc, me, now)
    return Response(status_code=204)


@router.get("/me", response_model=Me, responses=AUTH, summary="My account")
def get_me(me: ConsumerDep, svc: ServiceDep) -> Any:
    with svc.engine.connect() as conn:
        return accounts.account_info(conn, me)


@router.post("/me/close", response_model=ClosureOut, responses=errors(401, 422), summary="Close my account")
def close(body: Closure, me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    """Deletes events, features and scores, revokes credentials and sessions, pseudonymises the ledger."""
    accounts.confirm_password(svc, me, body.password)
    return mydata.close_account(svc, me, now)
