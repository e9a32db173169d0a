"""Online verification accepts a presentation once: its (audience, nonce) is recorded (issue 11, finding 12)."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from credo.credentials import HolderKey, present
from credo.service.sharing import NONCE_MEMORY
from credo.store.tables import access_ledger, used_nonces
from tests.service.support import World

AUD = "https://hotel.example"
_TOKENS: dict[int, dict[str, str]] = {}


def _token(world: World, cid: str) -> dict[str, str]:
    """One account and session per world."""
    if id(world) not in _TOKENS:
        _TOKENS[id(world)] = world.consumer_token(cid)
    return _TOKENS[id(world)]


def _presentation(world: World, nonce: str) -> tuple[str, dict[str, str]]:
    cid = world.high()
    me = _token(world, cid)
    holder = HolderKey()
    cred = world.client.post("/v1/me/credentials", headers=me, json={"holder_jwk": holder.public_jwk()}).json()
    token = present(cred["credential"], disclose=["score_at_least_600"], holder_key=holder, audience=AUD,
                    nonce=nonce, now=world.clock[0])
    return cid, {"token": token, "audience": AUD, "nonce": nonce}


def test_a_presentation_verifies_once(world: World) -> None:
    cid, body = _presentation(world, "n-1")
    first = world.client.post("/v1/credentials/verify", json=body).json()
    assert first["valid"] and first["disclosed"] == {"score_at_least_600": True}
    again = world.client.post("/v1/credentials/verify", json=body).json()
    assert again == {**again, "valid": False, "reason": "CRED_PRESENTATION_REPLAYED", "disclosed": {}}
    with world.engine.connect() as conn:
        last = conn.execute(select(access_ledger.c.outcome, access_ledger.c.reason_code)
                            .where(access_ledger.c.consumer_ref == cid).order_by(access_ledger.c.seq.desc())).first()
    assert tuple(last) == ("denied", "CRED_PRESENTATION_REPLAYED")
    # an invalid presentation does not use up a nonce: a wrong audience is refused as such, the nonce stays free
    _, other = _presentation(world, "n-2")
    assert world.client.post("/v1/credentials/verify", json={**other, "audience": "https://x"}).json()["reason"] \
        == "CRED_WRONG_AUDIENCE"
    assert world.client.post("/v1/credentials/verify", json=other).json()["valid"]


def test_used_nonces_are_forgotten_once_no_presentation_could_be_fresh(world: World) -> None:
    _, body = _presentation(world, "n-3")
    assert world.client.post("/v1/credentials/verify", json=body).json()["valid"]
    world.at(world.clock[0] + NONCE_MEMORY + timedelta(seconds=1))
    late = world.client.post("/v1/credentials/verify", json=body).json()
    assert late["reason"] == "CRED_PRESENTATION_STALE"  # too old to be accepted, whatever the memory says
    _, fresh = _presentation(world, "n-5")
    assert world.client.post("/v1/credentials/verify", json=fresh).json()["valid"]
    with world.engine.connect() as conn:  # the next use swept the expired one away
        assert conn.execute(select(func.count()).select_from(used_nonces)).scalar_one() == 1


def test_two_verifiers_racing_with_one_presentation_get_one_yes(world: World) -> None:
    _, body = _presentation(world, "n-4")
    barrier = threading.Barrier(4)
    answers: list[dict[str, object]] = []

    def verify() -> None:
        barrier.wait()
        answers.append(world.client.post("/v1/credentials/verify", json=body).json())

    threads = [threading.Thread(target=verify) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(bool(a["valid"]) for a in answers) == [False, False, False, True]
    assert {a["reason"] for a in answers if not a["valid"]} == {"CRED_PRESENTATION_REPLAYED"}
