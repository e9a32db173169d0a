"""My circles: create, see (each member with what they show me), what I show, leave, block."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from credo.api.text import Clean
from credo.api.deps import ConsumerDep, NowDep, ServiceDep
from credo.api.problems import AUTH, errors
from credo.api.schemas import BlockIn, BlockOut, CircleIn, CircleOut, CircleViewOut, MembershipIn, MembershipOut
from credo.service import circles

router = APIRouter(prefix="/v1/me/circles", tags=["circles"])
Id = Annotated[str, Clean, Path(pattern=r"^[0-9a-f]{16}$")]


@router.get("", response_model=list[CircleOut], responses=AUTH, summary="My circles")
def my_circles(me: ConsumerDep, svc: ServiceDep) -> Any:
    with svc.engine.connect() as conn:
        return circles.my_circles(conn, me.consumer_id)


@router.post("", response_model=CircleOut, status_code=201, responses=errors(401, 409, 422),
             summary="Start a circle (you are its first member, showing nothing)")
def create_circle(body: CircleIn, me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    with svc.engine.begin() as conn:
        return circles.create(conn, me.consumer_id, body.name, body.display_name, now)


@router.get("/blocked", response_model=list[BlockOut], responses=AUTH, summary="The people I blocked")
def my_blocks(me: ConsumerDep, svc: ServiceDep) -> Any:
    with svc.engine.connect() as conn:
        return circles.blocks(conn, me.consumer_id)


@router.delete("/blocked/{block_id}", status_code=204, responses=errors(401, 404, 422), summary="Unblock")
def unblock(block_id: Id, me: ConsumerDep, svc: ServiceDep) -> Response:
    with svc.engine.begin() as conn:
        circles.unblock(conn, me.consumer_id, block_id)
    return Response(status_code=204)


@router.get("/{circle_id}", response_model=CircleViewOut, responses=errors(401, 404, 422, 503),
            summary="A circle: each member with what they show me")
def view_circle(circle_id: Id, me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    """Bands shown here are recorded in each shown member's access ledger. NOT_FOUND unless you are a member."""
    return circles.view(svc, me.consumer_id, circle_id, now)


@router.patch("/{circle_id}/membership", response_model=MembershipOut, responses=errors(401, 404, 422),
              summary="What this circle sees of me: band, guesses or nothing; badges; my name there")
def change_membership(circle_id: Id, body: MembershipIn, me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    """Immediate effect. `nothing` also deletes the guesses about you in this circle."""
    with svc.engine.begin() as conn:
        return circles.update_membership(conn, me.consumer_id, circle_id, now, sharing=body.sharing,
                                         badges_shown=body.badges, display_name=body.display_name)


@router.delete("/{circle_id}/membership", status_code=204, responses=errors(401, 404, 422),
               summary="Leave a circle: everything of mine goes from it")
def leave_circle(circle_id: Id, me: ConsumerDep, svc: ServiceDep) -> Response:
    with svc.engine.begin() as conn:
        circles.leave(conn, me.consumer_id, circle_id)
    return Response(status_code=204)


@router.post("/{circle_id}/blocks", response_model=BlockOut, status_code=201, responses=errors(401, 404, 422),
             summary="Block another member: neither sees the other's band, nor guesses it")
def block_member(circle_id: Id, body: BlockIn, me: ConsumerDep, svc: ServiceDep, now: NowDep) -> Any:
    with svc.engine.begin() as conn:
        return circles.block(conn, me.consumer_id, circle_id, body.member_id, now)
