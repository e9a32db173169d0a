"""Invitations to my circles by link or code, and requests to join: both sides say yes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from credo.api.text import Clean
from credo.api.deps import ConsumerDep, NowDep, ServiceDep
from credo.api.problems import AUTH, errors
from credo.api.schemas import (
    AcceptIn,
    CodeIn,
    InvitationIn,
    InvitationPreviewOut,
    InvitationsOut,
    JoinRequestOut,
    NewInvitationOut,
    NewMemberOut,
)
from credo.service import invitations

router = APIRouter(prefix="/v1/me/invitations", tags=["circles"])
Id = Annotated[str, Clean, Path(pattern=r"^[0-9a-f]{16}$")]


def join_link(request: Request, code: str) -> str:
    """The join page with the code in the fragment, which browsers never send to a server."""
    return f"{request.base_url}me/circles/join#{code}"


@router.post("", response_model=NewInvitationOut, status_code=201, responses=errors(401, 404, 409, 422, 429),
             summary="Invite to one of my circles: a code and a link, shown once")
def invite(body: InvitationIn, request: Request, me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    with svc.engine.begin() as conn:
        made = invitations.create(conn, me.consumer_id, body.circle_id, body.max_uses, body.hours, now)
    return {**made, "link": join_link(request, made["code"])}


@router.get("", response_model=InvitationsOut, responses=AUTH,
            summary="My invitations with the requests waiting for my yes, and my own requests to join")
def my_invitations(me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    with svc.engine.connect() as conn:
        return {"sent": invitations.sent(conn, me.consumer_id, now), "asked": invitations.asked(conn, me.consumer_id)}


@router.delete("/{invitation_id}", status_code=204, responses=errors(401, 404, 422),
               summary="Withdraw an invitation (its code opens nothing from now on)")
def withdraw(invitation_id: Id, me: ConsumerDep, svc: ServiceDep) -> Response:
    with svc.engine.begin() as conn:
        invitations.withdraw(conn, me.consumer_id, invitation_id)
    return Response(status_code=204)


@router.post("/preview", response_model=InvitationPreviewOut, responses=errors(401, 404, 422, 429),
             summary="What a code opens: the circle's name and who invites")
def preview(body: CodeIn, me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    """One answer, CIRCLE_INVITATION_INVALID, for every code that opens nothing (mistyped, expired, used up,
    withdrawn); such codes are rate-limited."""
    return invitations.preview(svc, me.consumer_id, body.code, now)


@router.post("/accept", response_model=JoinRequestOut, status_code=202, responses=errors(401, 404, 409, 422, 429),
             summary="Say yes to an invitation: a member once the inviter says yes too")
def accept(body: AcceptIn, me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    return invitations.accept(svc, me.consumer_id, body.code, body.display_name, now)


@router.post("/requests/{request_id}/confirm", response_model=NewMemberOut, responses=errors(401, 404, 409, 422),
             summary="The inviter's yes: the person who asked becomes a member")
def confirm(request_id: Id, me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    with svc.engine.begin() as conn:
        return invitations.confirm(conn, me.consumer_id, request_id, now)


@router.delete("/requests/{request_id}", status_code=204, responses=errors(401, 404, 422),
               summary="Decline a request to join (inviter) or withdraw mine (requester)")
def drop_request(request_id: Id, me: ConsumerDep, svc: ServiceDep) -> Response:
    with svc.engine.begin() as conn:
        invitations.drop_request(conn, me.consumer_id, request_id)
    return Response(status_code=204)
