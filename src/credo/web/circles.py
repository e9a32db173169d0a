"""The consumer's circles pages: circles, a circle, joining with a code, the guessing game, the
leaderboard, and my badges.

Each handler calls the same service functions as ``/v1/me/circles``, ``/v1/me/invitations`` and
``/v1/me/game``, so a band shown on a page lands in the shown member's ledger exactly as through the
API. Forms post back and redirect (post/redirect/get), except a new invitation, whose code is shown
once on the page that made it; a refusal re-renders the page with its message and stable code.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from credo.api.problems import status_for
from credo.errors import CredoError
from credo.policy.circles import (
    BADGES,
    BAND_NAMES,
    DEFAULT_INVITATION_HOURS,
    MAX_INVITATION_HOURS,
    MAX_USES,
    MIN_AGGREGATE,
    POINTS,
    POINTS_PER_INVITED_MEMBER,
)
from credo.service import badges, circles, game, invitations
from credo.web.security import ConsumerPage, NowPage, ServicePage, clean_input, message_of, same_site
from credo.web.templating import page

router = APIRouter(dependencies=[Depends(same_site), Depends(clean_input)], include_in_schema=False)
ID = r"^[0-9a-f]{16}$"

#: Fixed confirmations shown after a redirect (never text taken from the request).
DONE = {
    "created": "Circle started. Invite people below; nobody sees your band unless you say so.",
    "saved": "Saved. It applies from now on.",
    "asked": "You said yes. You are in once the person who invited you says yes too.",
    "confirmed": "They are in the circle now.",
    "declined": "Request declined.", "withdrawn": "Invitation withdrawn: its code opens nothing now.",
    "left": "You left the circle. Nothing of yours is left in it.",
    "blocked": "Blocked. Neither of you sees the other's band or badges, or can guess it.",
    "unblocked": "Unblocked.", "request-withdrawn": "Your request to join was withdrawn.",
}
FEEDBACK = {"exact": "Exactly right", "one_off": "One band off", "miss": "More than one band off",
            "no_band": "They do not have a band yet (not enough data)"}


def _done(request: Request) -> str | None:
    return DONE.get(request.query_params.get("done", ""))


def _back(path: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={done}", status_code=303)


def _fail(request: Request, exc: CredoError, render: Any = None) -> Response:
    """Re-render the page with the refusal; a circle that is not (or no longer) mine, or a page that
    could not be shown at all, is an error page of its own."""
    if exc.field == "circle_id" and status_for(exc.code) == 404:
        return page(request, "error.html", status_code=404, heading="No such circle", message=message_of(exc))
    if render is None:
        return page(request, "error.html", status_code=status_for(exc.code), heading="That did not work",
                    message=message_of(exc))
    return render(status_code=status_for(exc.code), error=message_of(exc))


# ---------------------------------------------------------------- circles


def _circles_page(request: Request, svc: Any, consumer_id: str, status_code: int = 200, **extra: Any) -> Response:
    with svc.engine.connect() as conn:
        mine = circles.my_circles(conn, consumer_id)
        asked = invitations.asked(conn, consumer_id)
        blocked = circles.blocks(conn, consumer_id)
    return page(request, "consumer/circles.html", status_code=status_code, nav="circles", circles=mine,
                asked=asked, blocked=blocked, done=_done(request), **extra)


@router.get("/me/circles")
def circles_page(request: Request, me: ConsumerPage, svc: ServicePage) -> Response:
    return _circles_page(request, svc, me.consumer_id)


@router.post("/me/circles")
def create_circle(request: Request, me: ConsumerPage, svc: ServicePage, now: NowPage,
                  name: Annotated[str, Form()] = "", display_name: Annotated[str, Form()] = "") -> Response:
    try:
        with svc.engine.begin() as conn:
            made = circles.create(conn, me.consumer_id, name, display_name, now)
    except CredoError as exc:
        return _circles_page(request, svc, me.consumer_id, status_code=status_for(exc.code), error=message_of(exc))
    return _back(f"/me/circles/{made['id']}", "created")


@router.post("/me/circles/requests/{request_id}/withdraw")
def withdraw_request(request: Request, request_id: str, me: ConsumerPage, svc: ServicePage) -> Response:
    try:
        with svc.engine.begin() as conn:
            invitations.drop_request(conn, me.consumer_id, request_id)
    except CredoError as exc:
        return _circles_page(request, svc, me.consumer_id, status_code=404, error=message_of(exc))
    return _back("/me/circles", "request-withdrawn")


@router.post("/me/circles/blocked/{block_id}/unblock")
def unblock(request: Request, block_id: str, me: ConsumerPage, svc: ServicePage) -> Response:
    try:
        with svc.engine.begin() as conn:
            circles.unblock(conn, me.consumer_id, block_id)
    except CredoError as exc:
        return _circles_page(request, svc, me.consumer_id, status_code=404, error=message_of(exc))
    return _back("/me/circles", "unblocked")


# ---------------------------------------------------------------- joining with a code


@router.get("/me/circles/join")
def join_form(request: Request, me: ConsumerPage) -> Response:
    return page(request, "consumer/join.html", nav="circles", code="")


@router.post("/me/circles/join/preview")
def join_preview(request: Request, me: ConsumerPage, svc: ServicePage, now: NowPage,
                 code: Annotated[str, Form(max_length=40)] = "") -> Response:
    try:
        found = invitations.preview(svc, me.consumer_id, code, now)
    except CredoError as exc:
        return page(request, "consumer/join.html", status_code=status_for(exc.code), nav="circles", code=code,
                    error=message_of(exc))
    return page(request, "consumer/join.html", nav="circles", code=code, preview=found)


@router.post("/me/circles/join")
def join(request: Request, me: ConsumerPage, svc: ServicePage, now: NowPage,
         code: Annotated[str, Form(max_length=40)] = "", display_name: Annotated[str, Form()] = "") -> Response:
    try:
        invitations.accept(svc, me.consumer_id, code, display_name, now)
    except CredoError as exc:
        return page(request, "consumer/join.html", status_code=status_for(exc.code), nav="circles", code=code,
                    error=message_of(exc))
    return _back("/me/circles", "asked")


# ---------------------------------------------------------------- one circle


def _circle_page(request: Request, svc: Any, consumer_id: str, circle_id: str, now: Any, status_code: int = 200,
                 **extra: Any) -> Response:
    seen = circles.view(svc, consumer_id, circle_id, now)
    with svc.engine.connect() as conn:
        sent = [i for i in invitations.sent(conn, consumer_id, now) if i["circle_id"] == circle_id]
        earned = badges.earned(conn, consumer_id, now)
    return page(request, "consumer/circle.html", status_code=status_code, nav="circles", circle=seen, sent=sent,
                earned=[b for b in BADGES if b.code in earned], badge_names={b.code: b.name for b in BADGES},
                done=_done(request), max_uses=MAX_USES,
                default_hours=DEFAULT_INVITATION_HOURS, max_hours=MAX_INVITATION_HOURS, **extra)


@router.get("/me/circles/{circle_id}")
def circle_page(request: Request, circle_id: str, me: ConsumerPage, svc: ServicePage, now: NowPage) -> Response:
    try:
        return _circle_page(request, svc, me.consumer_id, circle_id, now)
    except CredoError as exc:
        return _fail(request, exc)


def _on_circle(request: Request, svc: Any, me: Any, circle_id: str, now: Any, act: Any, done: str,
               **extra: Any) -> Response:
    """Run ``act(conn)`` in one transaction, then back to the circle page (or the page with the refusal)."""
    try:
        with svc.engine.begin() as conn:
            act(conn)
    except CredoError as exc:
        return _fail(request, exc, lambda **kw: _circle_page(request, svc, me.consumer_id, circle_id, now, **kw))
    return _back(f"/me/circles/{circle_id}", done)


@router.post("/me/circles/{circle_id}/settings")
async def save_settings(request: Request, circle_id: str, me: ConsumerPage, svc: ServicePage,
                        now: NowPage) -> Response:
    form = await request.form()
    sharing, name = str(form.get("sharing", "")), str(form.get("display_name", ""))
    shown = [str(b) for b in form.getlist("badge")]
    return _on_circle(request, svc, me, circle_id, now, lambda conn: circles.update_membership(
        conn, me.consumer_id, circle_id, now, sharing=sharing, badges_shown=shown, display_name=name), "saved")


@router.post("/me/circles/{circle_id}/invitations")
def invite(request: Request, circle_id: str, me: ConsumerPage, svc: ServicePage, now: NowPage,
           max_uses: Annotated[int, Form(ge=1, le=MAX_USES)] = 1,
           hours: Annotated[int, Form(ge=1, le=MAX_INVITATION_HOURS)] = DEFAULT_INVITATION_HOURS) -> Response:
    try:
        with svc.engine.begin() as conn:
            made = invitations.create(conn, me.consumer_id, circle_id, max_uses, hours, now)
        link = f"{request.base_url}me/circles/join#{made['code']}"
        return _circle_page(request, svc, me.consumer_id, circle_id, now, made=made, link=link)
    except CredoError as exc:
        return _fail(request, exc, lambda **kw: _circle_page(request, svc, me.consumer_id, circle_id, now, **kw))


@router.post("/me/circles/{circle_id}/invitations/{invitation_id}/withdraw")
def withdraw_invitation(request: Request, circle_id: str, invitation_id: str, me: ConsumerPage, svc: ServicePage,
                        now: NowPage) -> Response:
    return _on_circle(request, svc, me, circle_id, now,
                      lambda conn: invitations.withdraw(conn, me.consumer_id, invitation_id), "withdrawn")


@router.post("/me/circles/{circle_id}/requests/{request_id}/confirm")
def confirm(request: Request, circle_id: str, request_id: str, me: ConsumerPage, svc: ServicePage,
            now: NowPage) -> Response:
    return _on_circle(request, svc, me, circle_id, now,
                      lambda conn: invitations.confirm(conn, me.consumer_id, request_id, now), "confirmed")


@router.post("/me/circles/{circle_id}/requests/{request_id}/decline")
def decline(request: Request, circle_id: str, request_id: str, me: ConsumerPage, svc: ServicePage,
            now: NowPage) -> Response:
    return _on_circle(request, svc, me, circle_id, now,
                      lambda conn: invitations.drop_request(conn, me.consumer_id, request_id), "declined")


@router.post("/me/circles/{circle_id}/members/{member_id}/block")
def block(request: Request, circle_id: str, member_id: str, me: ConsumerPage, svc: ServicePage,
          now: NowPage) -> Response:
    return _on_circle(request, svc, me, circle_id, now,
                      lambda conn: circles.block(conn, me.consumer_id, circle_id, member_id, now), "blocked")


@router.post("/me/circles/{circle_id}/leave")
def leave(request: Request, circle_id: str, me: ConsumerPage, svc: ServicePage, now: NowPage) -> Response:
    try:
        with svc.engine.begin() as conn:
            circles.leave(conn, me.consumer_id, circle_id)
    except CredoError as exc:
        return _fail(request, exc)
    return _back("/me/circles", "left")


# ---------------------------------------------------------------- the game


def _guess_page(request: Request, svc: Any, consumer_id: str, circle_id: str, now: Any, status_code: int = 200,
                **extra: Any) -> Response:
    with svc.engine.connect() as conn:
        name = next((c["name"] for c in circles.my_circles(conn, consumer_id) if c["id"] == circle_id), "")
        state = game.state(conn, consumer_id, circle_id, now)
    return page(request, "consumer/guess.html", status_code=status_code, nav="circles", circle_id=circle_id,
                circle_name=name, game=state, bands=BAND_NAMES, feedback_text=FEEDBACK, points=POINTS,
                invite_points=POINTS_PER_INVITED_MEMBER, min_aggregate=MIN_AGGREGATE, **extra)


@router.get("/me/circles/{circle_id}/guess")
def guess_page(request: Request, circle_id: str, me: ConsumerPage, svc: ServicePage, now: NowPage) -> Response:
    try:
        return _guess_page(request, svc, me.consumer_id, circle_id, now)
    except CredoError as exc:
        return _fail(request, exc)


@router.post("/me/circles/{circle_id}/guess")
def guess(request: Request, circle_id: str, me: ConsumerPage, svc: ServicePage, now: NowPage,
          member_id: Annotated[str, Form()] = "", band: Annotated[str, Form()] = "") -> Response:
    try:
        result = game.guess(svc, me.consumer_id, circle_id, member_id, band, now)
        return _guess_page(request, svc, me.consumer_id, circle_id, now, result=result)
    except CredoError as exc:
        return _fail(request, exc, lambda **kw: _guess_page(request, svc, me.consumer_id, circle_id, now, **kw))


@router.get("/me/circles/{circle_id}/leaderboard")
def leaderboard_page(request: Request, circle_id: str, me: ConsumerPage, svc: ServicePage) -> Response:
    try:
        with svc.engine.connect() as conn:
            board = game.leaderboard(conn, me.consumer_id, circle_id)
            name = next(c["name"] for c in circles.my_circles(conn, me.consumer_id) if c["id"] == circle_id)
    except CredoError as exc:
        return _fail(request, exc)
    return page(request, "consumer/leaderboard.html", nav="circles", circle_id=circle_id, circle_name=name,
                board=board, points=POINTS, invite_points=POINTS_PER_INVITED_MEMBER)


@router.get("/me/badges")
def badges_page(request: Request, me: ConsumerPage, svc: ServicePage, now: NowPage) -> Response:
    with svc.engine.connect() as conn:
        mine = badges.habits(conn, me.consumer_id, now).public()
    return page(request, "consumer/badges.html", nav="circles", habits=mine)
