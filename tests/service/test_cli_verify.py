"""``credo verify`` says when revocation was not checked, and exits 3 then (issue 11, finding 12)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from credo.cli.main import app as cli
from credo.credentials import HolderKey, RevocationReason, present
from credo.service import sharing
from tests.service.support import NOW, World

AUD = "https://visa-office.example"


def test_offline_verify_without_a_status_list_is_not_called_valid(world: World, tmp_path: Path) -> None:
    cid = world.high()
    holder = HolderKey()
    cred = world.client.post("/v1/me/credentials", headers=world.consumer_token(cid),
                             json={"holder_jwk": holder.public_jwk()}).json()
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(world.client.get("/v1/.well-known/jwks.json").json()))
    with world.engine.begin() as conn:
        assert sharing.revoke_all(conn, cid, RevocationReason.FRAUD, NOW) == 1
    status = tmp_path / "status.jwt"
    status.write_text(world.client.get("/v1/credentials/status/1").text)
    token = present(cred["credential"], disclose=["band"], holder_key=holder, audience=AUD, nonce="n", now=NOW)
    args = ["verify", token, "--jwks", str(jwks), "--audience", AUD, "--nonce", "n", "--at", NOW.isoformat()]
    runner = CliRunner()
    unchecked = runner.invoke(cli, args)
    assert unchecked.exit_code == 3, unchecked.output
    assert "revocation was NOT checked" in unchecked.output and not unchecked.output.startswith("valid")
    waived = runner.invoke(cli, [*args, "--no-revocation-check"])
    assert waived.exit_code == 0 and "revocation NOT checked, as asked" in waived.output
    checked = runner.invoke(cli, [*args, "--status-list", str(status)])
    assert checked.exit_code == 1 and "CRED_REVOKED" in checked.output
