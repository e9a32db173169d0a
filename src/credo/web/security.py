"""Who is signed in to a page, and the guards every form post passes.

* Session cookies are ``HttpOnly`` (no script reads them), ``SameSite=Strict`` (another site's
  page cannot send them) and ``Secure`` when served over HTTPS. A consumer's cookie carries the
  same session token the API hands out; the console's carries a console session
  (:mod:`credo.service.console`).
* Every ``POST`` must come from a page of this site: a request whose ``Origin`` (or, without one,
  ``Referer``) names another host is refused before it touches anything (CSRF, second line
  behind ``SameSite``).
* Every form field, query parameter and path parameter a page takes is held to the API's text rule
  (:mod:`credo.policy.text`): one with a control character is refused, naming the field and the
  rule, before the page's own code runs, so nothing is written (``INPUT_CONTROL_CHARACTER``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from starlette.responses import Response

from credo.errors import CredoError, ErrorCode
from credo.policy.text import RULE, control_character_at
from credo.service import accounts, console
from credo.service.accounts import Principal
from credo.service.console import ConsolePrincipal
from credo.service.runtime import Service

CONSUMER_COOKIE = "credo_session"
CONSOLE_COOKIE = "credo_console"


class SignInRequired(Exception):
    """The page needs a signed-in user of ``role``; answered with a redirect to its sign-in page."""

    def __init__(self, login_path: str, next_path: str) -> None:
        self.location = f"{login_path}?next={quote(next_path, safe='/')}"


class CrossSiteRequest(Exception):
    """A form post that did not come from this site."""


def service(request: Request) -> Service:
    return request.app.state.service


def now(request: Request) -> datetime:
    return request.app.state.service.now()


def set_session_cookie(request: Request, response: Response, name: str, token: str, expires_at: datetime) -> None:
    """The session cookie, living as long as the session (relative to the service clock, which tests move)."""
    max_age = max(int((expires_at - now(request)).total_seconds()), 0)
    response.set_cookie(name, token, max_age=max_age, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


def clear_session_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="strict")


def same_site(request: Request) -> None:
    """Refuse a state-changing request whose Origin/Referer names another host."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return  # non-browser clients send neither; SameSite=Strict already kept cross-site cookies away
    if urlsplit(source).netloc != request.url.netloc:
        raise CrossSiteRequest()


async def clean_input(request: Request) -> None:
    """Refuse a control character in any path or query parameter or form field of a page request
    (the form is parsed once: Starlette keeps it for the page's ``Form`` parameters)."""
    fields: list[tuple[str, object]] = [*request.path_params.items(), *request.query_params.multi_items()]
    if request.method == "POST":
        fields += (await request.form()).multi_items()
    for name, value in fields:
        position = control_character_at(value) if isinstance(value, str) else None
        if position is not None:
            raise CredoError(ErrorCode.CONTROL_CHARACTER, f"{name}: control character at position {position}: "
                             f"{RULE}", name, RULE)


def client_of(request: Request) -> str:
    """The caller's address, for the login limits (uvicorn's --proxy-headers makes it the real one behind a proxy)."""
    return request.client.host if request.client else "unknown"


def _next(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def signed_in_consumer(request: Request) -> Principal:
    token = request.cookies.get(CONSUMER_COOKIE)
    svc = service(request)
    if token:
        try:
            with svc.engine.connect() as conn:
                return accounts.authenticate(conn, token, svc.now())
        except CredoError:
            pass
    raise SignInRequired("/login", _next(request))


def _console(request: Request, role: str, login_path: str) -> ConsolePrincipal:
    token = request.cookies.get(CONSOLE_COOKIE)
    svc = service(request)
    if token:
        try:
            with svc.engine.connect() as conn:
                principal = console.authenticate(conn, token, svc.now())
            if principal.role == role:
                return principal
        except CredoError:
            pass
    raise SignInRequired(login_path, _next(request))


def signed_in_partner(request: Request) -> ConsolePrincipal:
    return _console(request, console.PARTNER, "/partner/login")


def signed_in_operator(request: Request) -> ConsolePrincipal:
    return _console(request, console.OPERATOR, "/operator/login")


def safe_next(target: str | None, default: str) -> str:
    """Where to go after signing in: only a path on this site (never ``//evil`` or ``https://…``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


ConsumerPage = Annotated[Principal, Depends(signed_in_consumer)]
PartnerPage = Annotated[ConsolePrincipal, Depends(signed_in_partner)]
OperatorPage = Annotated[ConsolePrincipal, Depends(signed_in_operator)]
ServicePage = Annotated[Service, Depends(service)]
NowPage = Annotated[datetime, Depends(now)]


def message_of(error: CredoError) -> str:
    """A one-line, user-facing text of a refusal (its stable code kept for support)."""
    field = f" ({error.field})" if getattr(error, "field", None) else ""
    return f"{error.message}{field} [{error.code.value}]"
