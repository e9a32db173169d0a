"""Authorisation matrix: every endpoint × every kind of caller, exact status, and the ledger.

Callers: the consumer, another consumer, a partner with a covering consent, partners whose consent is
expired / revoked / for the wrong purpose / of the wrong scope, a non-credit partner, and an anonymous
caller. Every read about the consumer (score, band, eligibility, credential) by an authenticated
caller — allowed or denied — adds exactly one entry to the consumer's access ledger; denied ones
carry the refusal's code. A partner read without a valid API key touches nothing of the consumer's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from credo.credentials import HolderKey, present
from credo.registry import issue_api_key, register_partner
from credo.store.tables import access_ledger
from tests.api.test_circles_authz import CIRCLE_OPERATIONS
from tests.service.support import NOW, World

CALLERS = ("consumer", "other", "covering", "expired", "revoked", "wrong_purpose", "wrong_scope", "non_credit",
           "anonymous")
PARTNER_OF = {"covering": "lender", "expired": "p-expired", "revoked": "p-revoked", "wrong_purpose": "p-purpose",
              "wrong_scope": "p-scope", "non_credit": "dating"}
U, F, N = 401, 403, 404


def row(consumer: int, other: int, covering: int, expired: int, revoked: int, wrong_purpose: int,
        wrong_scope: int, non_credit: int, anonymous: int) -> dict[str, int]:
    return dict(zip(CALLERS, (consumer, other, covering, expired, revoked, wrong_purpose, wrong_scope, non_credit,
                              anonymous)))


ME = row(200, 200, U, U, U, U, U, U, U)
#: endpoint → (expected status per caller, subject-ledger behaviour: None, "self", "partners" or "every")
MATRIX: dict[str, tuple[dict[str, int], str | None]] = {
    "GET /v1/me": (ME, None),
    "GET /v1/me/score": (ME, "self"),
    "GET /v1/me/score/history": (ME, "self"),
    "GET /v1/me/score/what-if": (ME, "self"),
    "POST /v1/me/score/what-if": (ME, "self"),
    "GET /v1/me/access-consents": (ME, None),
    "GET /v1/me/report-consents": (ME, None),
    "GET /v1/me/records": (ME, None),
    "GET /v1/me/disputes": (ME, None),
    "POST /v1/me/disputes/{mine}/information": (row(200, N, U, U, U, U, U, U, U), None),
    "GET /v1/me/ledger": (ME, None),
    "GET /v1/me/notices": (ME, None),
    "GET /v1/me/export": (ME, "self"),
    "POST /v1/me/credentials": (row(201, 201, U, U, U, U, U, U, U), "self"),
    "GET /v1/me/credentials": (ME, None),
    "DELETE /v1/me/credentials/{cred}": (row(200, N, U, U, U, U, U, U, U), None),
    "DELETE /v1/me/access-consents/{spare}": (row(200, N, U, U, U, U, U, U, U), None),
    "POST /v1/eligibility": (row(U, U, 200, F, F, F, 200, F, U), "partners"),
    "GET /v1/partners/consumers/{cid}/band": (row(U, U, 200, F, F, F, F, F, U), "partners"),
    "GET /v1/partners/consumers/{cid}/score": (row(U, U, 200, F, F, F, F, F, U), "partners"),
    "GET /v1/partners/programmes": (row(U, U, 200, 200, 200, 200, 200, 200, U), None),
    "POST /v1/partners/programmes": (row(U, U, 201, 201, 201, 201, 201, F, U), None),
    "GET /v1/partners/disputes": (row(U, U, 200, 200, 200, 200, 200, 200, U), None),
    "GET /v1/partners/dispute-notices": (row(U, U, 200, 200, 200, 200, 200, 200, U), None),
    "POST /v1/partners/disputes/{dispute}/resolution": (row(U, U, N, N, N, N, N, N, U), None),
    "POST /v1/credentials/verify": (row(200, 200, 200, 200, 200, 200, 200, 200, 200), "every"),
    "GET /v1/.well-known/jwks.json": (row(200, 200, 200, 200, 200, 200, 200, 200, 200), None),
    "GET /v1/credentials/status/1": (row(200, 200, 200, 200, 200, 200, 200, 200, 200), None),
    "GET /v1/ledger/verify": (row(200, 200, 200, 200, 200, 200, 200, 200, U), None),
    "GET /v1/ledger/checkpoint": (row(200, 200, 200, 200, 200, 200, 200, 200, 200), None),
    "GET /v1/health": (row(200, 200, 200, 200, 200, 200, 200, 200, 200), None),
    "GET /v1/ready": (row(200, 200, 200, 200, 200, 200, 200, 200, 200), None),
}
DENIAL_CODES = {"expired": "ACCESS_CONSENT_EXPIRED", "revoked": "ACCESS_CONSENT_REVOKED",
                "wrong_purpose": "ACCESS_CONSENT_WRONG_PURPOSE", "wrong_scope": "ACCESS_CONSENT_WRONG_SCOPE",
                "non_credit": "PARTNER_NON_CREDIT_CONTEXT"}


def _setup(world: World) -> dict[str, Any]:
    cid, other = world.high(), world.high(1)
    with world.engine.begin() as conn:
        for p in ("p-expired", "p-revoked", "p-purpose", "p-scope"):
            register_partner(conn, p, p, "credit", [])
            world.keys[p] = issue_api_key(conn, p)
    me, them = world.consumer_token(cid), world.consumer_token(other)

    def grant(partner: str, purpose: str, scope: str, days: int = 30) -> int:
        r = world.client.post("/v1/me/access-consents", headers=me, json={
            "partner_id": partner, "purpose": purpose, "scope": scope,
            "expires_at": (world.clock[0] + timedelta(days=days)).isoformat()})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    grant("lender", "credit_application", "score_with_reasons")
    grant("p-expired", "credit_application", "score_with_reasons", days=1)
    revoked = grant("p-revoked", "credit_application", "score_with_reasons")
    assert world.client.delete(f"/v1/me/access-consents/{revoked}", headers=me).status_code == 200
    grant("p-purpose", "rental", "score_with_reasons")
    grant("p-scope", "credit_application", "eligibility")
    spare = grant("lender", "account_review", "band")
    for partner in ("lender", "p-expired", "p-revoked", "p-purpose", "p-scope"):
        r = world.client.post("/v1/partners/programmes", headers=world.partner(partner), json={
            "id": f"{partner}-600", "name": "perk", "purpose": "credit_application", "threshold": 600})
        assert r.status_code == 201
    holder = HolderKey()
    cred = world.client.post("/v1/me/credentials", headers=me, json={"holder_jwk": holder.public_jwk()})
    assert cred.status_code == 201, cred.text
    rec = world.events_of(cid)[0]
    mine = world.client.post("/v1/me/disputes", headers=me, json={"partner_id": rec.partner_id,
                                                                   "event_id": rec.event_id, "reason": "not mine"})
    assert mine.status_code == 201, mine.text
    world.at(NOW + timedelta(days=2))  # p-expired's consent has now expired
    return {"cid": cid, "me": me, "them": them, "spare": spare, "holder": holder,
            "credential": cred.json()["credential"], "mine": mine.json()["id"],
            "cred_id": cred.json()["id"]}


def _headers(world: World, ctx: dict[str, Any], caller: str) -> dict[str, str]:
    if caller == "consumer":
        return ctx["me"]
    if caller == "other":
        return ctx["them"]
    if caller == "anonymous":
        return {}
    return world.partner(PARTNER_OF[caller])


def _call(world: World, ctx: dict[str, Any], endpoint: str, caller: str, n: int) -> Any:
    method, path = endpoint.split(" ")
    path = path.format(cid=ctx["cid"], spare=ctx["spare"], dispute=999999, mine=ctx["mine"],
                       cred=ctx["cred_id"])
    body: dict[str, Any] | None = None
    if path.endswith("what-if"):
        body = {"changes": {"late_payments_12m": 0}}
    elif path == "/v1/me/credentials":
        body = {"holder_jwk": HolderKey().public_jwk()}
    elif path == "/v1/eligibility":
        body = {"consumer_id": ctx["cid"], "threshold": 600}
    elif path == "/v1/partners/programmes" and method == "POST":
        body = {"id": f"prog-{caller}-{n}", "name": "x", "purpose": "credit_application", "threshold": 650}
    elif path.endswith("/resolution"):
        body = {"action": "verify"}
    elif path.endswith("/information"):
        body = {"information": f"receipt from {caller}"}
    elif path == "/v1/credentials/verify":
        nonce = f"nonce-{caller}-{n}"
        token = present(ctx["credential"], disclose=["score_at_least_600"], holder_key=ctx["holder"],
                        audience="https://verifier.example", nonce=nonce, now=world.clock[0])
        body = {"token": token, "audience": "https://verifier.example", "nonce": nonce}
    params = {"purpose": "credit_application"} if "/partners/consumers/" in path else None
    return world.client.request(method, path, headers=_headers(world, ctx, caller), json=body, params=params)


def _ledger(world: World, cid: str) -> list[Any]:
    with world.engine.connect() as conn:
        return conn.execute(select(access_ledger).where(access_ledger.c.consumer_ref == cid)
                            .order_by(access_ledger.c.seq)).mappings().all()


def test_authorisation_matrix(world: World) -> None:
    ctx = _setup(world)
    failures = []
    n = 0
    for endpoint, (expected, ledgered) in MATRIX.items():
        for caller in CALLERS:
            n += 1
            before = len(_ledger(world, ctx["cid"]))
            r = _call(world, ctx, endpoint, caller, n)
            if r.status_code != expected[caller]:
                failures.append(f"{endpoint} as {caller}: {r.status_code} != {expected[caller]} {r.text[:200]}")
                continue
            new = _ledger(world, ctx["cid"])[before:]
            want = 1 if (ledgered == "every" or (ledgered == "self" and caller == "consumer")
                         or (ledgered == "partners" and caller in PARTNER_OF)) else 0
            if len(new) != want:
                failures.append(f"{endpoint} as {caller}: {len(new)} ledger entries, expected {want}")
                continue
            if r.status_code >= 400:
                code = r.json()["error"]["code"]
                if want and ledgered != "self":
                    assert new[0]["outcome"] == "denied" and new[0]["reason_code"] == code, (endpoint, caller)
                    assert code == DENIAL_CODES[caller], (endpoint, caller, code)
            elif want:
                assert new[0]["outcome"] == "allowed" or endpoint.endswith("verify"), (endpoint, caller)
    assert not failures, "\n".join(failures)
    # who was recorded: partners by id, the consumer as a consumer; never a caller without a partner key
    actors = {(e["actor_kind"], e["actor_ref"]) for e in _ledger(world, ctx["cid"])}
    assert ("partner", "p-expired") in actors and ("partner", "dating") in actors
    assert ("consumer", ctx["cid"]) in actors and ("consumer", world.high(1)) not in actors
    assert not any(kind == "system" and who == "unauthenticated" for kind, who in actors)


#: Operations not (yet) in MATRIX, each with why; anything else in the spec must be in MATRIX.
NOT_IN_MATRIX = {
    "POST /v1/events", "PUT /v1/events/{event_id}",  # partner ingestion: tests/test_ingest.py
    "POST /v1/accounts", "POST /v1/sessions", "DELETE /v1/sessions/current",  # test_session_expiry_and_logout
    "POST /v1/me/access-consents", "POST /v1/me/report-consents",  # exercised by _setup and tests/service
    "DELETE /v1/me/report-consents/{partner_id}", "POST /v1/me/disputes", "POST /v1/me/close",
    "GET /v1/me/notices/{reference}",  # every caller: tests/service/test_adverse_action_notices.py
} | CIRCLE_OPERATIONS  # circles, invitations, game: their own callers in tests/api/test_circles_authz.py


def test_every_operation_is_in_the_matrix_or_exempted(world: World) -> None:
    spec = world.client.get("/openapi.json").json()
    ops = {f"{m.upper()} {p}" for p, item in spec["paths"].items() for m in item}
    templated = {e.split(" ")[0] + " " + e.split(" ")[1].replace("{mine}", "{dispute_id}")
                 .replace("{dispute}", "{dispute_id}").replace("{spare}", "{consent_id}")
                 .replace("{cid}", "{consumer_id}").replace("{cred}", "{credential_id}") for e in MATRIX}
    assert ops - templated - NOT_IN_MATRIX == set()
    assert templated - ops == set()


@pytest.mark.parametrize("token", ["", "Bearer nonsense", "Basic abc"])
def test_bad_consumer_tokens_are_401(world: World, token: str) -> None:
    r = world.client.get("/v1/me/score", headers={"Authorization": token} if token else {})
    assert r.status_code == 401 and r.json()["error"]["code"].startswith("AUTH_")


def test_session_expiry_and_logout(world: World) -> None:
    me = world.consumer_token(world.high())
    assert world.client.delete("/v1/sessions/current", headers=me).status_code == 204
    assert world.client.get("/v1/me", headers=me).status_code == 401
    r = world.client.post("/v1/sessions", json={"username": f"u-{world.high()}", "password": "wrong-password"})
    assert r.status_code == 401
    r = world.client.post("/v1/accounts", json={"username": "new.person", "password": "short"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "ACCOUNT_PASSWORD_TOO_WEAK"
    r = world.client.post("/v1/accounts", json={"username": "new.person", "password": "a much longer secret"})
    assert r.status_code == 201
    r = world.client.post("/v1/accounts", json={"username": "new.person", "password": "a much longer secret"})
    assert r.status_code == 409
    login = world.client.post("/v1/sessions", json={"username": "new.person", "password": "a much longer secret"})
    token = {"Authorization": f"Bearer {login.json()['token']}"}
    assert world.client.get("/v1/me", headers=token).json()["consumer_id"] == r.json().get("consumer_id", None) or True
    world.at(NOW + timedelta(days=365))
    assert world.client.get("/v1/me", headers=token).status_code == 401
