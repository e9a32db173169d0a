"""The operator pages (read-only): model card and validation, score distribution and band bad
rates, the latest batch run, the access ledger's verification status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from credo.errors import CredoError
from credo.service import console
from credo.web.security import (
    CONSOLE_COOKIE,
    NowPage,
    OperatorPage,
    ServicePage,
    SignInRequired,
    clear_session_cookie,
    message_of,
    safe_next,
    same_site,
    set_session_cookie,
    signed_in_operator,
)
from credo.web.templating import page

router = APIRouter(prefix="/operator", dependencies=[Depends(same_site)], include_in_schema=False)


@router.get("/login")
def login_form(request: Request) -> Response:
    return page(request, "operator/login.html", next=safe_next(request.query_params.get("next"), "/operator"))


@router.post("/login")
def login(request: Request, svc: ServicePage, now: NowPage, username: Annotated[str, Form()],
          password: Annotated[str, Form()], next: Annotated[str, Form()] = "/operator") -> Response:  # noqa: A002
    try:
        token, expires_at = console.operator_login(svc, username, password, now)
    except CredoError as exc:
        return page(request, "operator/login.html", status_code=401, error=message_of(exc),
                    next=safe_next(next, "/operator"), username=username)
    response = RedirectResponse(safe_next(next, "/operator"), status_code=303)
    set_session_cookie(request, response, CONSOLE_COOKIE, token, expires_at)
    return response


@router.post("/logout")
def logout(request: Request, svc: ServicePage, now: NowPage) -> Response:
    response = RedirectResponse("/operator/login", status_code=303)
    try:
        console.logout(svc, signed_in_operator(request), now)
    except SignInRequired:
        pass  # already signed out
    clear_session_cookie(response, CONSOLE_COOKIE)
    return response


@router.get("")
def overview(request: Request, me: OperatorPage, svc: ServicePage) -> Response:
    bundle_version = svc.model_bundle().version
    return page(request, "operator/overview.html", nav="overview", version=bundle_version)
