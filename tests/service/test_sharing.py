"""Band credentials through the service: issue, JWKS, status list, online and offline verification,
revocation (closure, fraud, a dispute that lowers the band) and key rotation."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from credo.cli.main import app as cli
from credo.credentials import HolderKey, RevocationReason, present
from credo.service import sharing
from tests.service.support import NOW, World

runner = CliRunner()
AUD = "https://rental.example"


def _issue(world: World):  # noqa: ANN202
    cid = world.high()
    me = world.consumer_token(cid)
    holder = HolderKey()
    r = world.client.post("/v1/me/credentials", headers=me, json={"holder_jwk": holder.public_jwk()})
    assert r.status_code == 201, r.text
    return cid, me, holder, r.json()


def _verify(world: World, token: str, nonce: str, audience: str = AUD) -> dict:
    r = world.client.post("/v1/credentials/verify", json={"token": token, "audience": audience, "nonce": nonce})
    assert r.status_code == 200, r.text
    return r.json()


def test_issue_present_verify_online_and_ledger(world: World) -> None:
    cid, me, holder, cred = _issue(world)
    assert cred["band"] == "excellent" and "score" not in cred
    token = present(cred["credential"], disclose=["score_at_least_650", "band"], holder_key=holder, audience=AUD,
                    nonce="n-1", now=NOW)
    ok = _verify(world, token, "n-1")
    assert ok["valid"] is True and ok["disclosed"] == {"score_at_least_650": True, "band": "excellent"}
    assert _verify(world, token, "n-1", audience="https://other.example")["reason"] == "CRED_WRONG_AUDIENCE"
    assert _verify(world, token, "n-2")["reason"] == "CRED_WRONG_NONCE"
    head, _, rest = token.partition("~")
    # flip one signature character well before the end (the last one carries padding bits, whose
    # change would make the token malformed rather than tampered)
    flipped = head[:-10] + ("A" if head[-10] != "A" else "B") + head[-9:]
    assert _verify(world, flipped + "~" + rest, "n-1")["reason"] == "CRED_TAMPERED"
    world.at(NOW + timedelta(hours=2))
    late = present(cred["credential"], disclose=["band"], holder_key=holder, audience=AUD, nonce="n-3",
                   now=world.clock[0])
    assert _verify(world, late, "n-3")["reason"] == "CRED_EXPIRED"
    entries = world.client.get("/v1/me/ledger", headers=me).json()
    verifications = [e for e in entries if e["purpose"] == "credential_verification"]
    # the tampered token is not the holder's credential: it names nobody, so it is in nobody's ledger
    assert [(e["outcome"], e["reason_code"]) for e in verifications] == [
        ("allowed", None), ("denied", "CRED_WRONG_AUDIENCE"), ("denied", "CRED_WRONG_NONCE"),
        ("denied", "CRED_EXPIRED")]
    assert verifications[0]["disclosed"] == "credential:band,score_at_least_650"


def test_offline_cli_verify_with_saved_jwks_and_status_list(world: World, tmp_path) -> None:  # noqa: ANN001
    cid, me, holder, cred = _issue(world)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(world.client.get("/v1/.well-known/jwks.json").json()))
    status = tmp_path / "status.jwt"
    r = world.client.get("/v1/credentials/status/1")
    assert r.headers["content-type"].startswith("application/statuslist+jwt")
    status.write_text(r.text)
    token = present(cred["credential"], disclose=["score_at_least_700"], holder_key=holder, audience=AUD,
                    nonce="cli-1", now=NOW)
    args = ["verify", token, "--jwks", str(jwks), "--audience", AUD, "--nonce", "cli-1", "--status-list",
            str(status), "--at", NOW.isoformat()]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "score_at_least_700" in result.output
    bad = runner.invoke(cli, [*args[:6], "--nonce", "other", "--at", NOW.isoformat()])
    assert bad.exit_code == 1 and "CRED_WRONG_NONCE" in bad.output
    # revoked for fraud: the refreshed status list refuses it offline as well
    with world.engine.begin() as conn:
        assert sharing.revoke_all(conn, cid, RevocationReason.FRAUD, NOW) == 1
    status.write_text(world.client.get("/v1/credentials/status/1").text)
    revoked = runner.invoke(cli, args)
    assert revoked.exit_code == 1 and "CRED_REVOKED" in revoked.output


def test_band_drop_revokes_and_rotation_keeps_old_credentials_valid(world: World) -> None:
    cid, me, holder, cred = _issue(world)
    old_kid = cred["kid"]
    world.svc.keys().rotate(NOW)
    kids = {k["kid"] for k in world.client.get("/v1/.well-known/jwks.json").json()["keys"]}
    assert old_kid in kids and len(kids) == 2
    token = present(cred["credential"], disclose=["band"], holder_key=holder, audience=AUD, nonce="r-1", now=NOW)
    assert _verify(world, token, "r-1")["valid"] is True
    fresh = world.client.post("/v1/me/credentials", headers=me, json={"holder_jwk": holder.public_jwk()}).json()
    assert fresh["kid"] != old_kid
    with world.engine.begin() as conn:
        assert sharing.revoke_if_band_dropped(conn, cid, "excellent", NOW) == 0
        assert sharing.revoke_if_band_dropped(conn, cid, "good", NOW) == 2
    token = present(cred["credential"], disclose=["band"], holder_key=holder, audience=AUD, nonce="r-2", now=NOW)
    assert _verify(world, token, "r-2")["reason"] == "CRED_REVOKED"


def test_not_enough_data_gets_no_credential(world: World) -> None:
    me = world.consumer_token("newcomer")
    r = world.client.post("/v1/me/credentials", headers=me, json={"holder_jwk": HolderKey().public_jwk()})
    assert r.status_code == 422 and r.json()["error"]["code"] == "SCORE_NOT_ENOUGH_DATA"
    entries = world.client.get("/v1/me/ledger", headers=me).json()
    assert entries[-1]["outcome"] == "denied"
