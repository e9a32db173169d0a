"""Partner kinds × partner endpoints: only credit and deposit kinds query consumers (an allowlist).

Every kind in ``PARTNER_KINDS`` is tried against every endpoint a partner can reach. A verify-only kind
(a marketplace, a hotel, a visa office, a dating service …) is refused the consumer's access consent and
programme registration, and stays refused on eligibility, band and score reads even when a consent and a
programme exist in the store (say, from before the rule); it can still verify a credential the consumer
presents, list its programmes and see its dispute queue.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from credo.credentials import HolderKey, present
from credo.registry import issue_api_key, register_partner
from credo.registry.partners import CREDIT_CONTEXT_KINDS, PARTNER_KINDS, VERIFY_ONLY_KINDS
from credo.store.tables import access_consents, perk_programmes
from tests.service.support import World

NON_CREDIT = "PARTNER_NON_CREDIT_CONTEXT"
#: endpoint → (status for a credit/deposit kind, status for a verify-only kind)
MATRIX = {
    "POST /v1/me/access-consents": (201, 403),
    "POST /v1/partners/programmes": (201, 403),
    "POST /v1/eligibility": (200, 403),
    "GET /v1/partners/consumers/{cid}/band": (200, 403),
    "GET /v1/partners/consumers/{cid}/score": (200, 403),
    "POST /v1/credentials/verify": (200, 200),
    "GET /v1/partners/programmes": (200, 200),
    "GET /v1/partners/disputes": (200, 200),
    "GET /v1/partners/dispute-notices": (200, 200),
}


def test_the_allowlist_is_credit_and_deposit_contexts_and_hotels_and_visa_offices_only_verify() -> None:
    assert set(CREDIT_CONTEXT_KINDS) == {"credit", "telecom", "utility", "landlord", "rental"}
    assert {"hotel", "visa_office", "identity", "matchmaking", "social", "commerce"} <= set(VERIFY_ONLY_KINDS)
    assert set(PARTNER_KINDS) == set(CREDIT_CONTEXT_KINDS) | set(VERIFY_ONLY_KINDS)
    assert not set(CREDIT_CONTEXT_KINDS) & set(VERIFY_ONLY_KINDS)


def _call(world: World, endpoint: str, kind: str, pid: str, ctx: dict[str, Any]) -> Any:
    method, path = endpoint.split(" ")
    path = path.format(cid=ctx["cid"])
    headers = world.partner(pid)
    body: dict[str, Any] | None = None
    params = None
    if path == "/v1/me/access-consents":
        headers = ctx["me"]
        body = {"partner_id": pid, "purpose": "credit_application", "scope": "score_with_reasons",
                "expires_at": (world.clock[0] + timedelta(days=30)).isoformat()}
    elif path == "/v1/partners/programmes" and method == "POST":
        body = {"id": f"{pid}-650", "name": "perk", "purpose": "credit_application", "threshold": 650}
    elif path == "/v1/eligibility":
        body = {"consumer_id": ctx["cid"], "threshold": 600}
    elif "/partners/consumers/" in path:
        params = {"purpose": "credit_application"}
    elif path == "/v1/credentials/verify":
        nonce = f"nonce-{kind}"
        token = present(ctx["credential"], disclose=["score_at_least_600"], holder_key=ctx["holder"],
                        audience=f"https://{pid}.example", nonce=nonce, now=world.clock[0])
        body = {"token": token, "audience": f"https://{pid}.example", "nonce": nonce}
    return world.client.request(method, path, headers=headers, json=body, params=params)


def test_every_kind_against_every_partner_endpoint(world: World) -> None:
    cid = world.high()
    me = world.consumer_token(cid)
    holder = HolderKey()
    cred = world.client.post("/v1/me/credentials", headers=me, json={"holder_jwk": holder.public_jwk()})
    assert cred.status_code == 201, cred.text
    ctx = {"cid": cid, "me": me, "holder": holder, "credential": cred.json()["credential"]}
    now = world.clock[0]
    with world.engine.begin() as conn:
        for kind in PARTNER_KINDS:
            pid = f"k-{kind}"
            register_partner(conn, pid, f"A {kind}", kind, [])
            world.keys[pid] = issue_api_key(conn, pid)
            # a consent and a programme already in the store: the reads must still be refused by kind
            conn.execute(insert(access_consents).values(
                consumer_id=cid, partner_id=pid, purpose="credit_application", scope="score_with_reasons",
                granted_at=now, expires_at=now + timedelta(days=30)))
            conn.execute(insert(perk_programmes).values(id=f"{pid}-600", partner_id=pid, name="perk",
                                                        purpose="credit_application", threshold=600, created_at=now))
    failures = []
    for kind in PARTNER_KINDS:
        for endpoint, (allowed, verify_only) in MATRIX.items():
            expected = allowed if kind in CREDIT_CONTEXT_KINDS else verify_only
            r = _call(world, endpoint, kind, f"k-{kind}", ctx)
            if r.status_code != expected:
                failures.append(f"{kind} {endpoint}: {r.status_code} != {expected} {r.text[:160]}")
            elif r.status_code == 403 and r.json()["error"]["code"] != NON_CREDIT:
                failures.append(f"{kind} {endpoint}: {r.json()['error']['code']}")
            elif endpoint == "POST /v1/credentials/verify" and not r.json()["valid"]:
                failures.append(f"{kind} {endpoint}: not valid {r.json()}")
    assert not failures, "\n".join(failures)
