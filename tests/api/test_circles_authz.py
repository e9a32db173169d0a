"""Authorisation matrix of the circles, invitations and game endpoints: every operation × a member, a
non-member, a member who hid their band, a member who left, a partner (API key) and an anonymous caller,
with the exact status and who gets a ledger entry.

The circle is run by an owner who shows their band; another member plays "guess my band"; the hidden
member shows nothing. A band shown (a circle read) lands in the owner's ledger, a guess in the player's;
the hidden member's ledger never gets an entry, whatever anyone calls."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from credo.store.tables import access_ledger
from tests.service.circle_helpers import bring_in, invite, ok, share, start
from tests.service.support import World

CALLERS = ("member", "non_member", "hidden", "left", "partner", "anonymous")
U, N, C = 401, 404, 409


def row(member: int, non_member: int, hidden: int, left: int) -> dict[str, int]:
    return dict(zip(CALLERS, (member, non_member, hidden, left, U, U)))


EVERY = row(200, 200, 200, 200)
MEMBERS = row(200, N, 200, N)
#: operation → (status per caller, whose ledger gets one entry per call: "owner", "player" or None)
CIRCLE_MATRIX: dict[str, tuple[dict[str, int], str | None]] = {
    "GET /v1/me/circles": (EVERY, None),
    "POST /v1/me/circles": (row(201, 201, 201, 201), None),
    "GET /v1/me/circles/blocked": (EVERY, None),
    "DELETE /v1/me/circles/blocked/{block}": (row(N, N, N, N), None),  # the owner's block: nobody else's
    "GET /v1/me/circles/{circle}": (MEMBERS, "owner"),
    "PATCH /v1/me/circles/{circle}/membership": (MEMBERS, None),
    "POST /v1/me/circles/{circle}/blocks": (row(201, N, 201, N), None),
    "POST /v1/me/invitations": (row(201, N, 201, N), None),
    "GET /v1/me/invitations": (EVERY, None),
    "DELETE /v1/me/invitations/{invitation}": (row(N, N, N, N), None),  # the owner's invitation
    "POST /v1/me/invitations/preview": (EVERY, None),  # whoever holds a live code may look
    "POST /v1/me/invitations/accept": (row(C, 202, C, 202), None),
    "POST /v1/me/invitations/requests/{request}/confirm": (row(N, N, N, N), None),  # only the inviter
    "DELETE /v1/me/invitations/requests/{request}": (row(N, N, N, N), None),
    "POST /v1/me/game/guesses": (row(201, N, 201, N), "player"),
    "GET /v1/me/game/badges": (EVERY, None),
    "GET /v1/me/game/circles/{circle}": (MEMBERS, None),
    "GET /v1/me/game/circles/{circle}/leaderboard": (MEMBERS, None),
    "DELETE /v1/me/circles/{circle}/membership": (row(204, N, 204, N), None),  # last: members leave here
}
#: The operations above as the OpenAPI spec names them (the general matrix's completeness check reads it).
CIRCLE_OPERATIONS = {e.replace("{circle}", "{circle_id}").replace("{block}", "{block_id}")
                     .replace("{invitation}", "{invitation_id}").replace("{request}", "{request_id}")
                     for e in CIRCLE_MATRIX}


def _setup(world: World) -> dict[str, Any]:
    ids = {"owner": world.high(), "player": world.high(1), "member": world.high(2), "hidden": world.high(3),
           "left": world.high(4), "non_member": world.high(5), "requester": world.high(6), "spare": world.high(7)}
    h = {k: world.consumer_token(v) for k, v in ids.items()}
    circle = start(world, h["owner"], "Club", "Owner")
    members = {k: bring_in(world, h["owner"], circle["id"], h[k], k.title())
               for k in ("player", "member", "hidden", "left", "spare")}
    share(world, h["owner"], circle["id"], "band")
    share(world, h["player"], circle["id"], "guess")
    assert world.client.delete(f"/v1/me/circles/{circle['id']}/membership", headers=h["left"]).status_code == 204
    block = ok(world.client.post(f"/v1/me/circles/{circle['id']}/blocks", headers=h["owner"],
                                 json={"member_id": members["spare"]}), 201)
    open_code = invite(world, h["owner"], circle["id"], max_uses=10, hours=168)
    request = ok(world.client.post("/v1/me/invitations/accept", headers=h["requester"],
                                   json={"code": invite(world, h["owner"], circle["id"])["code"],
                                         "display_name": "Requester"}), 202)
    return {"ids": ids, "headers": h, "circle": circle["id"], "members": members, "block": block["id"],
            "invitation": open_code["id"], "code": open_code["code"], "request": request["id"]}


def _call(world: World, ctx: dict[str, Any], endpoint: str, caller: str, n: int) -> Any:
    method, path = endpoint.split(" ")
    path = path.format(circle=ctx["circle"], block=ctx["block"], invitation=ctx["invitation"],
                       request=ctx["request"])
    body: dict[str, Any] | None = {
        "POST /v1/me/circles": {"name": f"Mine {n}", "display_name": "Me"},
        "POST /v1/me/circles/{circle}/blocks": {"member_id": ctx["members"]["spare"]},
        "PATCH /v1/me/circles/{circle}/membership": {"display_name": f"Renamed {n}"},
        "POST /v1/me/invitations": {"circle_id": ctx["circle"]},
        "POST /v1/me/invitations/preview": {"code": ctx["code"]},
        "POST /v1/me/invitations/accept": {"code": ctx["code"], "display_name": f"Again {n}"},
        "POST /v1/me/game/guesses": {"circle_id": ctx["circle"], "member_id": ctx["members"]["player"],
                                     "band": "good"},
    }.get(endpoint)
    headers = world.partner("lender") if caller == "partner" else {} if caller == "anonymous" else \
        ctx["headers"][caller]
    return world.client.request(method, path, headers=headers, json=body)


def _entries(world: World, consumer_id: str) -> int:
    with world.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(access_ledger)
                            .where(access_ledger.c.consumer_ref == consumer_id)).scalar_one()


def test_circle_authorisation_matrix(world: World) -> None:
    ctx = _setup(world)
    ledgers = ("owner", "player", "hidden")
    failures, n = [], 0
    for endpoint, (expected, ledgered) in CIRCLE_MATRIX.items():
        for caller in CALLERS:
            n += 1
            before = {who: _entries(world, ctx["ids"][who]) for who in ledgers}
            r = _call(world, ctx, endpoint, caller, n)
            if r.status_code != expected[caller]:
                failures.append(f"{endpoint} as {caller}: {r.status_code} != {expected[caller]} {r.text[:200]}")
                continue
            grew = {who for who in ledgers if _entries(world, ctx["ids"][who]) != before[who]}
            want = {ledgered} if ledgered and r.status_code < 300 else set()
            if grew != want:
                failures.append(f"{endpoint} as {caller}: ledger entries for {grew}, expected {want}")
            if r.status_code in (U, N, C):
                assert r.json()["error"]["code"] in ("AUTH_MISSING_CREDENTIALS", "NOT_FOUND", "CIRCLE_ALREADY_MEMBER"), \
                    (endpoint, caller, r.text)
    assert not failures, "\n".join(failures)


def test_the_matrix_covers_every_circle_operation(world: World) -> None:
    spec = world.client.get("/openapi.json").json()
    ops = {f"{m.upper()} {p}" for p, item in spec["paths"].items() for m in item
           if p.startswith(("/v1/me/circles", "/v1/me/invitations", "/v1/me/game"))}
    assert ops == CIRCLE_OPERATIONS
