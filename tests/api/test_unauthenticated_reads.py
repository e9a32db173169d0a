"""A caller without a valid partner key learns nothing and writes nothing (issue 11, finding 7).

Partner reads authenticate before anything about the consumer is looked at: the answer is the same
for a known and an unknown consumer id (the code path is the same: nothing of the consumer's is read),
and no ledger entry lands anywhere — not for an anonymous caller, nor for a consumer trying another's
id with their session. A credential whose issuer signature does not verify names nobody's record.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from credo.credentials import HolderKey, IssuerKey, KeyRing, StatusRef, issue_score_band, present
from credo.store.tables import access_ledger, issued_credentials
from tests.service.support import World

UNKNOWN = "no-such-consumer"
READS = ("POST /v1/eligibility", "GET /v1/partners/consumers/{cid}/band", "GET /v1/partners/consumers/{cid}/score")


def _ledger_size(world: World) -> int:
    with world.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(access_ledger)).scalar_one()


def _call(world: World, read: str, cid: str, headers: dict[str, str]) -> Any:
    method, path = read.split(" ")
    if method == "POST":
        return world.client.post(path, headers=headers, json={"consumer_id": cid, "threshold": 600})
    return world.client.get(path.format(cid=cid), headers=headers, params={"purpose": "credit_application"})


@pytest.mark.parametrize("read", READS)
def test_without_a_partner_key_known_and_unknown_ids_get_one_answer_and_no_ledger_entry(world: World,
                                                                                        read: str) -> None:
    cid, other = world.high(), world.high(1)
    mine, theirs = world.consumer_token(cid), world.consumer_token(other)
    callers = {"anonymous": {}, "bad key": {"X-API-Key": "ck_nonsense"}, "the consumer": mine,
               "another consumer": theirs, "bad key and session": {"X-API-Key": "ck_nonsense", **theirs}}
    before = _ledger_size(world)
    for name, headers in callers.items():
        known, unknown = _call(world, read, cid, headers), _call(world, read, UNKNOWN, headers)
        assert known.status_code == 401, (name, known.text)
        assert (known.status_code, known.content) == (unknown.status_code, unknown.content), name
    assert _ledger_size(world) == before, "an unauthenticated attempt wrote into a ledger"


def test_a_forged_credential_naming_a_holders_status_index_writes_nothing(world: World) -> None:
    cid = world.high()
    me = world.consumer_token(cid)
    holder = HolderKey()
    assert world.client.post("/v1/me/credentials", headers=me, json={"holder_jwk": holder.public_jwk()}).status_code \
        == 201
    with world.engine.connect() as conn:
        idx = conn.execute(select(issued_credentials.c.status_idx)
                           .where(issued_credentials.c.consumer_id == cid)).scalar_one()
    now = world.clock[0]
    stranger = KeyRing.generate(now - timedelta(minutes=1)).active
    impostor = IssuerKey(world.svc.keys().active.kid, stranger.public_key, stranger.private_key, stranger.created_at)
    before = _ledger_size(world)
    for ring in (KeyRing([stranger], stranger.kid), KeyRing([impostor], impostor.kid)):  # unknown key; wrong signature
        forged = issue_score_band(ring, score=900, issuer=world.svc.settings.issuer, now=now,
                                  holder_jwk=holder.public_jwk(), status=StatusRef(idx, world.svc.status_list_uri))
        token = present(forged.sd_jwt, disclose=["score_at_least_600"], holder_key=holder,
                        audience="https://v.example", nonce="n-1", now=now)
        r = world.client.post("/v1/credentials/verify", json={"token": token, "audience": "https://v.example",
                                                               "nonce": "n-1"})
        assert r.status_code == 200, r.text
        assert r.json()["reason"] in ("CRED_UNKNOWN_KEY", "CRED_TAMPERED"), r.json()
    assert _ledger_size(world) == before, "a forged credential wrote into its named holder's ledger"
