"""The partner console: API keys, perk programmes, eligibility checks, the dispute queue and
credential verification, for shop and rental-desk staff.

A partner signs in with one of its API keys (a console session remembers which: revoking that
key signs the console out). Every check and verification goes through the same service calls as
the API, so it lands in the consumer's access ledger the same way.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import segno

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.responses import Response

from credo.credentials import THRESHOLD_LADDER
from credo.api.problems import status_for
from credo.errors import CredoError
from credo.ledger import ActorKind
from credo.registry.partners import issue_api_key, list_api_keys, revoke_own_api_key
from credo.service import access, console, disputes, perks, sharing
from credo.service.perk_stats import programme_stats
from credo.store.tables import partners
from credo.web.security import (
    CONSOLE_COOKIE, NowPage, PartnerPage, ServicePage, SignInRequired, clean_input, clear_session_cookie,
    client_of, message_of, safe_next, same_site, set_session_cookie, signed_in_partner,
)
from credo.web.templating import page

router = APIRouter(prefix="/partner", dependencies=[Depends(same_site), Depends(clean_input)], include_in_schema=False)

DONE = {
    "key-revoked": "Key revoked. Requests signed with it are refused from now on.",
    "programme-created": "Programme registered.",
    "dispute-resolved": "Dispute answered; the consumer has been sent the result.",
}


def _partner_name(svc: Any, partner_id: str) -> str:
    with svc.engine.connect() as conn:
        return conn.execute(select(partners.c.name).where(partners.c.id == partner_id)).scalar_one()


def _page(request: Request, svc: Any, me: console.ConsolePrincipal, name: str, nav: str, status_code: int = 200,
          **context: Any) -> Response:
    done = DONE.get(request.query_params.get("done", ""))
    return page(request, f"partner/{name}", status_code=status_code, nav=nav, partner_id=me.subject,
                partner_name=_partner_name(svc, me.subject), done=done, **context)


@router.get("/login")
def login_form(request: Request) -> Response:
    return page(request, "partner/login.html", next=safe_next(request.query_params.get("next"), "/partner"))


@router.post("/login")
def login(request: Request, svc: ServicePage, now: NowPage, api_key: Annotated[str, Form()],
          next: Annotated[str, Form()] = "/partner") -> Response:  # noqa: A002
    try:
        token, expires_at = console.partner_login(svc, api_key.strip(), now, client_of(request))
    except CredoError as exc:
        return page(request, "partner/login.html", status_code=status_for(exc.code), error=message_of(exc),
                    next=safe_next(next, "/partner"))
    response = RedirectResponse(safe_next(next, "/partner"), status_code=303)
    set_session_cookie(request, response, CONSOLE_COOKIE, token, expires_at)
    return response


@router.post("/logout")
def logout(request: Request, svc: ServicePage, now: NowPage) -> Response:
    response = RedirectResponse("/partner/login", status_code=303)
    try:
        console.logout(svc, signed_in_partner(request), now)
    except SignInRequired:
        pass  # already signed out
    clear_session_cookie(response, CONSOLE_COOKIE)
    return response


# ---------------------------------------------------------------- programmes (the console's home)


def _programmes_page(request: Request, svc: Any, me: console.ConsolePrincipal, status_code: int = 200,
                     **extra: Any) -> Response:
    with svc.engine.connect() as conn:
        programmes = perks.list_programmes(conn, me.subject)
        stats = programme_stats(conn, me.subject)
    return _page(request, svc, me, "programmes.html", "programmes", status_code=status_code, programmes=programmes,
                 stats=stats, ladder=THRESHOLD_LADDER, purposes=access.PURPOSES, **extra)


@router.get("")
def programmes_page(request: Request, me: PartnerPage, svc: ServicePage) -> Response:
    return _programmes_page(request, svc, me)


@router.post("/programmes")
def create_programme(request: Request, me: PartnerPage, svc: ServicePage, now: NowPage,
                     programme_id: Annotated[str, Form(min_length=1, max_length=64)],
                     name: Annotated[str, Form(min_length=1, max_length=200)], purpose: Annotated[str, Form()],
                     threshold: Annotated[int, Form()]) -> Response:
    try:
        with svc.engine.begin() as conn:
            perks.register_programme(conn, me.subject, programme_id.strip(), name.strip(), purpose, threshold, now)
    except CredoError as exc:
        return _programmes_page(request, svc, me, status_code=400, error=message_of(exc))
    return RedirectResponse("/partner?done=programme-created", status_code=303)


# ---------------------------------------------------------------- eligibility checks


def _check_page(request: Request, svc: Any, me: console.ConsolePrincipal, status_code: int = 200,
                **extra: Any) -> Response:
    with svc.engine.connect() as conn:
        programmes = perks.list_programmes(conn, me.subject)
    return _page(request, svc, me, "check.html", "check", status_code=status_code, programmes=programmes, **extra)


@router.get("/check")
def check_form(request: Request, me: PartnerPage, svc: ServicePage) -> Response:
    return _check_page(request, svc, me)


@router.post("/check")
def check(request: Request, me: PartnerPage, svc: ServicePage, now: NowPage,
          consumer_id: Annotated[str, Form(min_length=1, max_length=128)],
          programme_id: Annotated[str, Form(min_length=1, max_length=64)]) -> Response:
    try:
        answer = perks.check(svc, me.subject, consumer_id.strip(), programme_id, None, now)
    except CredoError as exc:
        return _check_page(request, svc, me, status_code=400, error=message_of(exc), asked=consumer_id)
    handover = None
    if answer is not None and answer.get("notice"):
        link = f"{request.base_url}{notice_page_path(answer['notice'])}"
        handover = {"link": link, "qr": segno.make(link, error="m").svg_inline(
            scale=4, omitsize=True, title="QR code of the customer's notice link")}
    return _check_page(request, svc, me, answer=answer, asked=consumer_id, handover=handover)


def notice_page_path(notice: dict[str, str]) -> str:
    """The consumer's page of a declined check's notice (it opens only in that consumer's session)."""
    token = parse_qs(urlsplit(notice["link"]).query).get("token", [""])[0]
    return f"me/notices/{notice['reference']}?{urlencode({'token': token})}"


# ---------------------------------------------------------------- disputes


def _disputes_page(request: Request, svc: Any, me: console.ConsolePrincipal, status_code: int = 200,
                   **extra: Any) -> Response:
    with svc.engine.connect() as conn:
        queue = disputes.partner_queue(conn, me.subject, None)
    return _page(request, svc, me, "disputes.html", "disputes", status_code=status_code,
                 open=[d for d in queue if d["status"] == "open"], closed=[d for d in queue if d["status"] != "open"],
                 **extra)


@router.get("/disputes")
def disputes_page(request: Request, me: PartnerPage, svc: ServicePage, now: NowPage) -> Response:
    disputes.sweep(svc, now)
    return _disputes_page(request, svc, me)


@router.post("/disputes/{dispute_id}")
def resolve(request: Request, dispute_id: int, me: PartnerPage, svc: ServicePage, now: NowPage,
            action: Annotated[str, Form()], note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    try:
        disputes.resolve(svc, me.subject, dispute_id, action, note.strip() or None, now)
    except CredoError as exc:
        return _disputes_page(request, svc, me, status_code=400, error=message_of(exc))
    return RedirectResponse("/partner/disputes?done=dispute-resolved", status_code=303)


# ---------------------------------------------------------------- credential verification


def presentation_of(text: str) -> tuple[str, str]:
    """(presentation, nonce) from a pasted share link, its fragment, or a bare token plus ``~nonce=…``."""
    text = text.strip()
    if "#" in text:
        text = text.split("#", 1)[1]
    token, _, nonce = text.partition("~nonce=")
    return token, nonce


@router.get("/verify")
def verify_form(request: Request, me: PartnerPage, svc: ServicePage) -> Response:
    return _page(request, svc, me, "verify.html", "verify")


@router.post("/verify")
def verify(request: Request, me: PartnerPage, svc: ServicePage, now: NowPage,
           shared: Annotated[str, Form(min_length=1, max_length=20000)]) -> Response:
    token, nonce = presentation_of(shared)
    result = sharing.verify_online(svc, token, me.subject, nonce, access.Actor(ActorKind.PARTNER, me.subject), now)
    return _page(request, svc, me, "verify.html", "verify", result=result)


# ---------------------------------------------------------------- API keys


def _keys_page(request: Request, svc: Any, me: console.ConsolePrincipal, status_code: int = 200,
               **extra: Any) -> Response:
    with svc.engine.connect() as conn:
        keys = list_api_keys(conn, me.subject)
    return _page(request, svc, me, "keys.html", "keys", status_code=status_code, keys=keys, **extra)


@router.get("/keys")
def keys_page(request: Request, me: PartnerPage, svc: ServicePage) -> Response:
    return _keys_page(request, svc, me)


@router.post("/keys")
def create_key(request: Request, me: PartnerPage, svc: ServicePage) -> Response:
    with svc.engine.begin() as conn:
        new_key = issue_api_key(conn, me.subject)
    response = _keys_page(request, svc, me, new_key=new_key)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/keys/{key_id}/revoke")
def revoke_key(request: Request, key_id: str, me: PartnerPage, svc: ServicePage, now: NowPage) -> Response:
    try:
        with svc.engine.begin() as conn:
            revoke_own_api_key(conn, me.subject, key_id, now)
    except CredoError as exc:
        return _keys_page(request, svc, me, status_code=404, error=message_of(exc))
    return RedirectResponse("/partner/keys?done=key-revoked", status_code=303)
