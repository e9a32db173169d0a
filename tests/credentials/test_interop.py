"""Credo's hand-written JOSE and SD-JWT against other implementations, both ways (issue 11, operations).

- What Credo issues verifies elsewhere: the issuer JWS, the JWKS and its thumbprints with ``jwcrypto``;
  the SD-JWT VC with its disclosures with the ``sd-jwt`` reference implementation (OpenWallet Foundation);
  the KB-JWT with ``jwcrypto`` and an ``sd_hash`` computed here from the RFC 9901 text; the Status List
  Token with ``jwcrypto`` and a decoder written here from the Token Status List draft.
- What they issue verifies in Credo: an Ed25519 JWS and a JWKS from ``jwcrypto``; an SD-JWT VC with a
  Key Binding JWT made by the reference issuer and holder; a Status List Token signed by ``jwcrypto``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import zlib

import pytest
from jwcrypto import jwk, jws, jwt
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.common import SDObj
from sd_jwt.verifier import SDJWTVerifier

from credo.credentials import (
    SCORE_BAND_VCT,
    HolderKey,
    KeyRing,
    RevocationReason,
    StatusListIssuer,
    issue_score_band,
    present,
    verify_presentation,
    verify_status_list_token,
)
from credo.policy.bands import band_of
from credo.credentials.jose import CompactJWS, jwk_thumbprint, key_from_jwk

ISS = "https://credo.example"
AUD = "https://bikes.example"
NONCE = "n-interop-1"
LIST_URI = "https://credo.example/status/1"


def _b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@pytest.fixture
def now() -> int:
    """Wall-clock seconds: the reference holder stamps its KB-JWT with time.time(), not a given clock."""
    return int(time.time())


@pytest.fixture
def ring(now: int) -> KeyRing:
    return KeyRing.generate(now - 60)


def _jwcrypto_keyset(ring: KeyRing) -> jwk.JWKSet:
    return jwk.JWKSet.from_json(json.dumps(ring.jwks()))


# --- Credo issues, they verify ---------------------------------------------------------------------------------

def test_jwks_reads_in_jwcrypto_with_the_same_rfc7638_thumbprints(ring: KeyRing) -> None:
    ring.rotate(int(time.time()))
    keys = _jwcrypto_keyset(ring)
    published = ring.jwks()["keys"]
    assert len(published) == 2
    for entry in published:
        key = keys.get_key(entry["kid"])
        assert key is not None and key["kty"] == "OKP" and key["crv"] == "Ed25519"
        assert not key.has_private, "the JWKS carries no private part"
        assert key.thumbprint() == jwk_thumbprint(entry)


def test_credo_sd_jwt_vc_verifies_in_the_reference_implementation_and_jwcrypto(ring: KeyRing, now: int) -> None:
    holder = HolderKey()
    issued = issue_score_band(ring, score=712, issuer=ISS, now=now, holder_jwk=holder.public_jwk())
    token = present(issued.sd_jwt, disclose=["band", "score_at_least_650"], holder_key=holder,
                    audience=AUD, nonce=NONCE, now=now)
    keys = _jwcrypto_keyset(ring)

    # the issuer-signed JWT, on its own, with jwcrypto (algorithm pinned to EdDSA)
    issuer_jwt, *rest = token.split("~")
    signed = jws.JWS()
    signed.deserialize(issuer_jwt)
    header = signed.jose_header
    signed.verify(keys.get_key(header["kid"]), alg="EdDSA")
    assert header["typ"] == "dc+sd-jwt"

    # the SD-JWT with its disclosures, with the reference verifier (issuer key looked up by kid)
    verifier = SDJWTVerifier(token, lambda iss, hdr: keys.get_key(hdr["kid"]))
    claims = verifier.get_verified_payload()
    assert claims["iss"] == ISS and claims["vct"] == SCORE_BAND_VCT
    assert claims["band"] == band_of(712).name
    assert claims["score_at_least_650"] is True
    assert "score_at_least_750" not in claims, "an undisclosed claim stays hidden"
    assert "score" not in claims

    # the KB-JWT: signed by the cnf key over aud, nonce and the sd_hash of everything before it
    *disclosures, kb = rest
    kb_jws = jws.JWS()
    kb_jws.deserialize(kb)
    kb_jws.verify(jwk.JWK(**claims["cnf"]["jwk"]), alg="EdDSA")
    assert kb_jws.jose_header["typ"] == "kb+jwt"
    kb_claims = json.loads(kb_jws.payload)
    presented = "~".join([issuer_jwt, *disclosures]) + "~"
    assert kb_claims["sd_hash"] == _b64u(hashlib.sha256(presented.encode("ascii")).digest())
    assert kb_claims["aud"] == AUD and kb_claims["nonce"] == NONCE


def test_credo_status_list_token_verifies_in_jwcrypto_and_decodes_per_the_draft(ring: KeyRing, now: int) -> None:
    lists = StatusListIssuer(LIST_URI, size=1024)
    refs = [lists.allocate() for _ in range(20)]
    revoked = {refs[3].idx, refs[17].idx}
    for idx in revoked:
        lists.revoke(idx, RevocationReason.HOLDER_REQUEST, now)
    token = lists.token(ring, now)

    keys = _jwcrypto_keyset(ring)
    kid = json.loads(_b64u_decode(token.split(".")[0]))["kid"]
    checked = jwt.JWT(jwt=token, key=keys.get_key(kid), algs=["EdDSA"], check_claims={"sub": LIST_URI})
    assert json.loads(checked.header)["typ"] == "statuslist+jwt"
    body = json.loads(checked.claims)["status_list"]
    raw = zlib.decompress(_b64u_decode(body["lst"]))
    assert body["bits"] == 1
    # draft-ietf-oauth-status-list: status i is bit (i mod 8) of byte i // 8, least significant bit first
    statuses = {i for i in range(len(raw) * 8) if raw[i // 8] >> (i % 8) & 1}
    assert statuses == revoked


# --- they issue, Credo verifies ---------------------------------------------------------------------------------

def _ed25519(kid: str) -> jwk.JWK:
    return jwk.JWK.generate(kty="OKP", crv="Ed25519", kid=kid)


def test_a_jwcrypto_ed25519_jws_verifies_in_credo_and_a_tampered_one_does_not() -> None:
    key = _ed25519("other-1")
    signed = jws.JWS(json.dumps({"hello": "world", "n": 1}).encode())
    signed.add_signature(key, alg="EdDSA", protected=json.dumps({"alg": "EdDSA", "kid": "other-1"}))
    token = signed.serialize(compact=True)
    public = json.loads(key.export_public())
    assert CompactJWS(token).verify(key_from_jwk(public))
    assert CompactJWS(token).payload == {"hello": "world", "n": 1}
    assert jwk_thumbprint(public) == key.thumbprint()
    head, payload, sig = token.split(".")
    forged = ".".join([head, _b64u(json.dumps({"hello": "world", "n": 2}).encode()), sig])
    assert not CompactJWS(forged).verify(key_from_jwk(public))


def _reference_presentation(issuer_key: jwk.JWK, holder_key: jwk.JWK, now: int, disclose: dict[str, bool]) -> str:
    claims = {
        "iss": ISS, "vct": SCORE_BAND_VCT, "iat": now, "nbf": now, "exp": now + 900,
        "cnf": {"jwk": json.loads(holder_key.export_public())},
        SDObj("band"): "excellent", SDObj("score_at_least_650"): True, SDObj("score_at_least_750"): False,
    }
    issued = SDJWTIssuer(claims, issuer_key, sign_alg="EdDSA", add_decoy_claims=True,
                         extra_header_parameters={"typ": "dc+sd-jwt", "kid": issuer_key.kid})
    holder = SDJWTHolder(issued.sd_jwt_issuance)
    holder.create_presentation(disclose, nonce=NONCE, aud=AUD, holder_key=holder_key, sign_alg="EdDSA")
    return holder.sd_jwt_presentation


def test_a_reference_sd_jwt_vc_with_key_binding_verifies_in_credo(now: int) -> None:
    issuer_key, holder_key = _ed25519("ref-issuer"), _ed25519(None)  # type: ignore[arg-type]
    token = _reference_presentation(issuer_key, holder_key, now, {"band": True, "score_at_least_650": True})
    jwks = {"keys": [json.loads(issuer_key.export_public())]}
    result = verify_presentation(token, jwks=jwks, audience=AUD, nonce=NONCE, now=now, issuer=ISS)
    assert result.ok, (result.reason, result.detail)
    assert result.disclosed == {"band": "excellent", "score_at_least_650": True}
    assert result.kid == "ref-issuer"

    wrong_nonce = verify_presentation(token, jwks=jwks, audience=AUD, nonce="another", now=now, issuer=ISS)
    assert not wrong_nonce.ok
    other_issuer = {"keys": [json.loads(_ed25519("ref-issuer").export_public())]}
    assert not verify_presentation(token, jwks=other_issuer, audience=AUD, nonce=NONCE, now=now, issuer=ISS).ok


def test_a_jwcrypto_status_list_token_reads_in_credo(now: int) -> None:
    key = _ed25519("ref-status")
    raw = bytearray(128)
    for idx in (0, 9, 1000):
        raw[idx // 8] |= 1 << (idx % 8)
    claims = {"sub": LIST_URI, "iat": now, "exp": now + 3600,
              "status_list": {"bits": 1, "lst": _b64u(zlib.compress(bytes(raw)))}}
    token = jwt.JWT(header={"alg": "EdDSA", "kid": "ref-status", "typ": "statuslist+jwt"}, claims=claims)
    token.make_signed_token(key)
    listed = verify_status_list_token(token.serialize(), jwks={"keys": [json.loads(key.export_public())]},
                                      uri=LIST_URI, now=now)
    assert {i for i in range(listed.size) if listed.get(i)} == {0, 9, 1000}
