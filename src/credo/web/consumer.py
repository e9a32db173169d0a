"""The consumer's pages: sign-up, the score, history, what-if, my data, ledger, consents,
disputes, notices, credentials, closing the account.

Each handler calls the service layer (the same calls as ``/v1/me/…``), so every read shown here
lands in the consumer's access ledger exactly as an API read would. Forms post back to the page
and redirect (post/redirect/get); a refusal re-renders the page with its message and stable code.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response

from credo.credentials import THRESHOLD_LADDER
from credo.api.problems import status_for
from credo.errors import CredoError, ErrorCode
from credo.service import access, accounts, circles, disputes, mydata, notices, selfview, sharing, wallet
from credo.service.directory import partner_directory
from credo.registry.consents import grant_report_consent, withdraw_report_consent
from credo.web import charts
from credo.web.security import (
    CONSUMER_COOKIE, ConsumerPage, NowPage, ServicePage, SignInRequired, clean_input, clear_session_cookie,
    client_of, message_of, safe_next, same_site, set_session_cookie, signed_in_consumer,
)
from credo.web.templating import page

router = APIRouter(dependencies=[Depends(same_site), Depends(clean_input)], include_in_schema=False)

#: Fixed confirmations shown after a redirect (never text taken from the request).
DONE = {
    "consent-granted": "Consent granted.", "consent-revoked": "Consent revoked. It stopped at once.",
    "consent-changed": "Consent changed: the old one is revoked and the new one is in force.",
    "report-granted": "Reporting consent given.", "report-withdrawn": "Reporting consent withdrawn.",
    "dispute-opened": "Dispute opened. The record is flagged as disputed in every partner answer from now on.",
    "information-added": "Information added and sent to the reporting partner; the deadline moved by 15 days.",
    "credential-revoked": "Credential revoked. Verifiers will see it as revoked.",
    "welcome": "Your account is ready. Nothing is shared until you say so.",
}


def _done(request: Request) -> str | None:
    return DONE.get(request.query_params.get("done", ""))


def _back(path: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={done}", status_code=303)


def _reporting_choices(svc: Any) -> list[dict[str, Any]]:
    with svc.engine.connect() as conn:
        return [p for p in partner_directory(conn) if p["event_types"]]


# ---------------------------------------------------------------- accounts


@router.get("/signup")
def signup_form(request: Request, svc: ServicePage) -> Response:
    return page(request, "consumer/signup.html", partners=_reporting_choices(svc), form={})


@router.post("/signup")
async def signup(request: Request, svc: ServicePage, now: NowPage) -> Response:
    form = await request.form()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    chosen: dict[str, list[str]] = {}
    for value in form.getlist("report"):
        partner_id, _, event_type = str(value).partition("|")
        chosen.setdefault(partner_id, []).append(event_type)
    try:
        created = accounts.register(svc, username, password, now=now)
        with svc.engine.begin() as conn:
            for partner_id, types in chosen.items():
                grant_report_consent(conn, created["consumer_id"], partner_id, types)
        token, expires = accounts.login(svc, username, password, now=now)
    except CredoError as exc:
        return page(request, "consumer/signup.html", status_code=400, partners=_reporting_choices(svc),
                    error=message_of(exc), form={"username": username, "report": set(form.getlist("report"))})
    response = _back("/me", "welcome")
    set_session_cookie(request, response, CONSUMER_COOKIE, token, expires)
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    return page(request, "consumer/login.html", next=safe_next(request.query_params.get("next"), "/me"))


@router.post("/login")
def login(request: Request, svc: ServicePage, now: NowPage, username: Annotated[str, Form()],
          password: Annotated[str, Form()], next: Annotated[str, Form()] = "/me") -> Response:  # noqa: A002
    try:
        token, expires = accounts.login(svc, username, password, now=now, client=client_of(request))
    except CredoError as exc:
        return page(request, "consumer/login.html", status_code=status_for(exc.code), error=message_of(exc),
                    next=safe_next(next, "/me"), username=username)
    response = RedirectResponse(safe_next(next, "/me"), status_code=303)
    set_session_cookie(request, response, CONSUMER_COOKIE, token, expires)
    return response


@router.post("/logout")
def logout(request: Request, svc: ServicePage, now: NowPage) -> Response:
    response = RedirectResponse("/", status_code=303)
    try:
        accounts.logout(svc, signed_in_consumer(request), now)
    except SignInRequired:
        pass  # already signed out: nothing to end
    clear_session_cookie(response, CONSUMER_COOKIE)
    return response


# ---------------------------------------------------------------- the score


@router.get("/me")
def score_page(request: Request, me: ConsumerPage, svc: ServicePage, now: NowPage) -> Response:
    try:
        score = selfview.score(svc, me.consumer_id, now)
        assert score is not None  # without cached_only a score is always computed
    except CredoError as exc:
        return page(request, "consumer/unavailable.html", status_code=503, error=message_of(exc), nav="score")
    return page(request, "consumer/score.html", nav="score", score=score, gauge=charts.gauge(score["score"]),
                done=_done(request))


@router.get("/me/history")
def history_page(request: Request, me: ConsumerPage, svc: ServicePage, now: NowPage) -> Response:
    points = selfview.history(svc, me.consumer_id, now)
    return page(request, "consumer/history.html", nav="history", points=list(reversed(points)),
                chart=charts.history_chart(points))


def _what_if_page(request: Request, svc: Any, consumer_id: str, now: Any, **extra: Any) -> Response:
    try:
        inputs = selfview.what_if_inputs(svc, consumer_id, now)
    except CredoError as exc:
        return page(request, "consumer/unavailable.html", status_code=503, error=message_of(exc), nav="what-if")
    return page(request, "consumer/whatif.html", nav="what-if", inputs=inputs, **extra)


@router.get("/me/what-if")
def what_if_form(request: Request, me: ConsumerPage, svc: ServicePage, now: NowPage) -> Response:
    return _what_if_page(request, svc, me.consumer_id, now, given={})


@router.post("/me/what-if")
async def what_if(request: Request, me: ConsumerPage, svc: ServicePage, now: NowPage) -> Response:
    form = await request.form()
    changes: dict[str, float | None] = {}
    given: dict[str, str] = {}
    try:
        for key, raw in form.multi_items():
            if not key.startswith("in:") or not str(raw).strip():
                continue
            name, text = key[3:], str(raw).strip()
            given[name] = text
            if text.lower() in ("empty", "none"):
                changes[name] = None
                continue
            try:
                changes[name] = float(text.replace(",", ""))
            except ValueError as exc:
                raise CredoError(ErrorCode.WHAT_IF_INVALID, f"{text!r} is not a number", name, "a number") from exc
        if not changes:
            raise CredoError(ErrorCode.WHAT_IF_INVALID, "change at least one value", "changes", "at least one change")
        result = selfview.what_if(svc, me.consumer_id, now, changes)
    except CredoError as exc:
        return _what_if_page(request, svc, me.consumer_id, now, given=given, error=message_of(exc))
    return _what_if_page(request, svc, me.consumer_id, now, given=given, result=result,
                         result_gauge=charts.gauge(result["estimated"]["score"]))


# ---------------------------------------------------------------- my data, disputes, notices


@router.get("/me/data")
def data_page(request: Request, me: ConsumerPage, svc: ServicePage) -> Response:
    with svc.engine.connect() as conn:
        records = mydata.records(conn, me.consumer_id)
    return page(request, "consumer/data.html", nav="data", records=list(reversed(records)), done=_done(request))


@router.get("/me/data/export.json")
def export(me: ConsumerPage, svc: ServicePage, now: NowPage) -> Response:
    from fastapi.encoders import jsonable_encoder

    body = jsonable_encoder(mydata.export(svc, me.consumer_id, now))
    return JSONResponse(body, headers={"Content-Disposition": 'attachment; filename="credo-my-data.json"'})


@router.post("/me/disputes")
def open_dispute(request: Request, me: ConsumerPage, svc: ServicePage, now: NowPage,
                 partner_id: Annotated[str, Form()], event_id: Annotated[str, Form()],
                 reason: Annotated[str, Form()] = "") -> Response:
    try:
        if not reason.strip():
            raise CredoError(ErrorCode.INVALID_VALUE, "say what is wrong with the record", "reason", "not empty")
        disputes.open_dispute(svc, me.consumer_id, partner_id, event_id, reason.strip()[:2000], now)
    except CredoError as exc:
        with svc.engine.connect() as conn:
            records = mydata.records(conn, me.consumer_id)
        return page(request, "consumer/data.html", status_code=400, nav="data", records=list(reversed(records)),
                    error=message_of(exc))
    return _back("/me/disputes", "dispute-opened")


@router.get("/me/disputes")
def disputes_page(request: Request, me: ConsumerPage, svc: ServicePage, now: NowPage) -> Response:
    disputes.sweep(svc, now, me.consumer_id)
    with svc.engine.connect() as conn:
        mine = disputes.consumer_disputes(conn, me.consumer_id)
    return page(request, "consumer/disputes.html", nav="disputes", disputes=list(reversed(mine)), now=now,
                done=_done(request))


@router.post("/me/disputes/{dispute_id}/information")
def add_information(request: Request, dispute_id: int, me: ConsumerPage, svc: ServicePage, now: NowPage,
                    information: Annotated[str, Form()] = "") -> Response:
    try:
        if not information.strip():
            raise CredoError(ErrorCode.INVALID_VALUE, "write the information to add", "information", "not empty")
        disputes.add_information(svc, me.consumer_id, dispute_id, information.strip()[:5000], now)
    except CredoError as exc:
        with svc.engine.connect() as conn:
            mine = disputes.consumer_disputes(conn, me.consumer_id)
        return page(request, "consumer/disputes.html", status_code=400, nav="disputes", disputes=list(reversed(mine)),
                    now=now, error=message_of(exc))
    return _back("/me/disputes", "information-added")


@router.get("/me/notices")
def notices_page(request: Request, me: ConsumerPage, svc: ServicePage) -> Response:
    with svc.engine.connect() as conn:
        mine = notices.consumer_notices(conn, me.consumer_id)
    return page(request, "consumer/notices.html", nav="notices", notices=mine)


@router.get("/me/notices/{reference}")
def printable_notice(request: Request, reference: str, me: ConsumerPage, svc: ServicePage, now: NowPage,
                     token: str = "") -> Response:
    """The printable copy a partner hands over (a link bound to this consumer's notice)."""
    try:
        with svc.engine.begin() as conn:
            notice = notices.printable_notice(conn, me.consumer_id, reference, token, now)
    except CredoError as exc:
        return page(request, "error.html", status_code=404, heading="No such notice", message=message_of(exc))
    return page(request, "consumer/notice.html", nav="notices", n=notice)


@router.get("/me/ledger")
def ledger_page(request: Request, me: ConsumerPage, svc: ServicePage) -> Response:
    with svc.engine.connect() as conn:
        entries = mydata.ledger_entries(conn, me.consumer_id)
        consents = {str(c["id"]): c for c in access.list_consents(conn, me.consumer_id)}
        names = {p["id"]: p["name"] for p in partner_directory(conn)}
        members = circles.co_member_names(conn, me.consumer_id)
    return page(request, "consumer/ledger.html", nav="ledger", entries=list(reversed(entries)), consents=consents,
                names=names, members=members)


# ---------------------------------------------------------------- consents


def _consents_page(request: Request, svc: Any, consumer_id: str, status_code: int = 200, **extra: Any) -> Response:
    with svc.engine.connect() as conn:
        directory = partner_directory(conn)
        access_consents = access.list_consents(conn, consumer_id)
        reporting = mydata.consents_to_report(conn, consumer_id)
    return page(request, "consumer/consents.html", status_code=status_code, nav="consents", directory=directory,
                names={p["id"]: p["name"] for p in directory}, access_consents=list(reversed(access_consents)),
                reporting=reporting, purposes=access.PURPOSES, scopes=access.SCOPES, done=_done(request),
                now_utc=svc.now(), consumer_id=consumer_id, **extra)


@router.get("/me/consents")
def consents_page(request: Request, me: ConsumerPage, svc: ServicePage) -> Response:
    return _consents_page(request, svc, me.consumer_id)


@router.post("/me/consents/access")
def grant_access(request: Request, me: ConsumerPage, svc: ServicePage, now: NowPage,
                 partner_id: Annotated[str, Form()], purpose: Annotated[str, Form()], scope: Annotated[str, Form()],
                 days: Annotated[int, Form(ge=1, le=366)], replaces: Annotated[int | None, Form()] = None) -> Response:
    try:
        with svc.engine.begin() as conn:
            if replaces is not None:
                access.revoke(conn, me.consumer_id, replaces, now)
            access.grant(conn, me.consumer_id, partner_id, purpose, scope, now + timedelta(days=days), now)
    except CredoError as exc:
        return _consents_page(request, svc, me.consumer_id, status_code=400, error=message_of(exc))
    return _back("/me/consents", "consent-changed" if replaces is not None else "consent-granted")


@router.post("/me/consents/access/{consent_id}/revoke")
def revoke_access(request: Request, consent_id: int, me: ConsumerPage, svc: ServicePage, now: NowPage) -> Response:
    try:
        with svc.engine.begin() as conn:
            access.revoke(conn, me.consumer_id, consent_id, now)
    except CredoError as exc:
        return _consents_page(request, svc, me.consumer_id, status_code=404, error=message_of(exc))
    return _back("/me/consents", "consent-revoked")


@router.post("/me/consents/report")
async def change_reporting(request: Request, me: ConsumerPage, svc: ServicePage) -> Response:
    form = await request.form()
    partner_id, action = str(form.get("partner_id", "")), str(form.get("action", ""))
    types = [str(t) for t in form.getlist("event_type")]
    try:
        with svc.engine.begin() as conn:
            if action == "grant":
                if not types:
                    raise CredoError(ErrorCode.INVALID_VALUE, "tick at least one kind of record", "event_type",
                                     "at least one")
                grant_report_consent(conn, me.consumer_id, partner_id, types)
            else:
                withdraw_report_consent(conn, me.consumer_id, partner_id, types or None)
    except CredoError as exc:
        return _consents_page(request, svc, me.consumer_id, status_code=400, error=message_of(exc))
    return _back("/me/consents", "report-granted" if action == "grant" else "report-withdrawn")


# ---------------------------------------------------------------- credentials


def _credentials_page(request: Request, svc: Any, consumer_id: str, status_code: int = 200, **extra: Any) -> Response:
    with svc.engine.connect() as conn:
        issued = list(reversed(sharing.list_credentials(conn, consumer_id)))
        directory = partner_directory(conn)
    return page(request, "consumer/credentials.html", status_code=status_code, nav="credentials", issued=issued,
                directory=directory, names={p["id"]: p["name"] for p in directory}, ladder=THRESHOLD_LADDER,
                done=_done(request), now=svc.now(), **extra)


@router.get("/me/credentials")
def credentials_page(request: Request, me: ConsumerPage, svc: ServicePage) -> Response:
    return _credentials_page(request, svc, me.consumer_id)


@router.post("/me/credentials")
def share_band(request: Request, me: ConsumerPage, svc: ServicePage, now: NowPage,
               verifier: Annotated[str, Form()], disclose: Annotated[str, Form()]) -> Response:
    try:
        shared = wallet.share(svc, me.consumer_id, verifier, disclose, now)
    except CredoError as exc:
        return _credentials_page(request, svc, me.consumer_id, status_code=400, error=message_of(exc))
    link = f"{request.base_url}partner/verify#{shared['presentation']}~nonce={shared['nonce']}"
    qr = segno.make(link, error="l").svg_inline(scale=3, omitsize=True, title="QR code of the link below")
    return _credentials_page(request, svc, me.consumer_id, shared=shared, link=link, qr=qr)


@router.post("/me/credentials/{credential_id}/revoke")
def revoke_credential(request: Request, credential_id: str, me: ConsumerPage, svc: ServicePage,
                      now: NowPage) -> Response:
    try:
        with svc.engine.begin() as conn:
            wallet.revoke(conn, me.consumer_id, credential_id, now)
    except CredoError as exc:
        return _credentials_page(request, svc, me.consumer_id, status_code=404, error=message_of(exc))
    return _back("/me/credentials", "credential-revoked")


# ---------------------------------------------------------------- closing the account


@router.get("/me/close")
def close_form(request: Request, me: ConsumerPage) -> Response:
    return page(request, "consumer/close.html", nav="close")


@router.post("/me/close")
def close(request: Request, me: ConsumerPage, svc: ServicePage, now: NowPage,
          password: Annotated[str, Form()] = "") -> Response:
    try:
        with svc.engine.connect() as conn:
            username = str(accounts.account_info(conn, me)["username"])
        accounts.login(svc, username, password, now=now)
    except CredoError:
        return page(request, "consumer/close.html", status_code=401, nav="close",
                    error="That password is not right: confirm closure with your password [AUTH_INVALID_CREDENTIALS]")
    closed = mydata.close_account(svc, me, now)
    response = page(request, "consumer/closed.html", closed=closed)
    clear_session_cookie(response, CONSUMER_COOKIE)
    return response
