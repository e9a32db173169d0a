"""ScoreBand SD-JWT VC: issuance, selective disclosure, every refusal reason, rotation, revocation."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta

import pytest

from credo.credentials import (
    DISCLOSABLE_CLAIMS,
    SD_DIGEST_COUNT,
    THRESHOLD_LADDER,
    CredentialRefused,
    HolderKey,
    KeyRing,
    RevocationReason,
    StatusListIssuer,
    issue_score_band,
    load_jwks,
    present,
    save_jwks,
    verify_presentation,
    verify_status_list_token,
)
from credo.credentials.jose import CompactJWS, b64u_decode, b64u_encode, json_bytes
from credo.credentials.sdjwt import Disclosure, SdJwtParts
from credo.errors import ErrorCode
from credo.policy.bands import BANDS

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
ISS = "https://credo.example"
AUD = "https://bikes.example"
NONCE = "n-0f3a9c"
LIST_URI = "https://credo.example/status/1"


@pytest.fixture(scope="module")
def ring() -> KeyRing:
    return KeyRing.generate(NOW - 3600)


@pytest.fixture(scope="module")
def holder() -> HolderKey:
    return HolderKey()


@pytest.fixture
def lists() -> StatusListIssuer:
    return StatusListIssuer(LIST_URI, size=1024)


def _issue(ring, holder, lists=None, score=642, now=NOW, **kw):  # noqa: ANN001, ANN202
    status = lists.allocate() if lists is not None else None
    return issue_score_band(ring, score=score, issuer=ISS, now=now, holder_jwk=holder.public_jwk(),
                            status=status, **kw)


def _present(cred, holder, disclose=("score_at_least_600",), now=NOW, aud=AUD, nonce=NONCE):  # noqa: ANN001, ANN202
    return present(cred.sd_jwt, disclose=disclose, holder_key=holder, audience=aud, nonce=nonce, now=now)


def _verify(token, ring, now=NOW, **kw):  # noqa: ANN001, ANN202
    kw.setdefault("audience", AUD)
    kw.setdefault("nonce", NONCE)
    return verify_presentation(token, jwks=ring.jwks(), now=now, **kw)


# --- acceptance and selective disclosure ---------------------------------------------------


def test_valid_presentation_reveals_only_the_chosen_claim(ring, holder, lists) -> None:  # noqa: ANN001
    cred = _issue(ring, holder, lists, score=642)
    result = _verify(_present(cred, holder), ring, status_list=lists.token(ring, NOW))
    assert result.ok and result.reason is None
    assert result.disclosed == {"score_at_least_600": True}
    assert result.status_checked
    assert result.claims["iss"] == ISS and result.claims["exp"] == NOW + 15 * 60
    assert "_sd" not in result.claims and "score" not in result.claims


def test_holder_chooses_several_claims_including_a_false_threshold(ring, holder) -> None:  # noqa: ANN001
    cred = _issue(ring, holder, score=642)
    token = _present(cred, holder, disclose=["score_at_least_650", "band"])
    result = _verify(token, ring)
    assert result.ok
    assert result.disclosed == {"score_at_least_650": False, "band": "good"}


@pytest.mark.parametrize("score", [350, 499, 500, 549, 550, 642, 650, 700, 749, 750, 950])
def test_ladder_and_band_are_right_and_the_number_never_appears(ring, holder, score: int) -> None:  # noqa: ANN001
    cred = _issue(ring, holder, score=score, as_of=date(2026, 1, 1), model_version="2026.01")
    values = {name: d.value for name, d in cred.disclosures.items()}
    assert {f"score_at_least_{t}": score >= t for t in THRESHOLD_LADDER}.items() <= values.items()
    assert values["band"] == next(b.name for b in BANDS if score in b)
    # No value anywhere in the issued credential (header, payload, every Disclosure) is the score.
    parts = SdJwtParts.parse(cred.sd_jwt)
    jws = CompactJWS(parts.issuer_jwt)
    docs = [jws.header, jws.payload, *(json.loads(b64u_decode(d)) for d in parts.disclosures)]
    scalars = list(_scalars(docs))
    assert score not in scalars and str(score) not in scalars
    assert "score" not in jws.payload


def _scalars(value):  # noqa: ANN001, ANN202
    if isinstance(value, dict):
        for v in value.values():
            yield from _scalars(v)
    elif isinstance(value, list):
        for v in value:
            yield from _scalars(v)
    elif not isinstance(value, bool):
        yield value


def test_score_is_not_in_any_claim_value(ring, holder) -> None:  # noqa: ANN001
    cred = _issue(ring, holder, score=642)
    all_values = [d.value for d in cred.disclosures.values()]
    assert 642 not in all_values and "642" not in json.dumps(all_values)
    assert set(cred.disclosures) <= set(DISCLOSABLE_CLAIMS)


def test_decoys_pad_sd_to_a_fixed_length(ring, holder) -> None:  # noqa: ANN001
    lean = _issue(ring, holder, score=400)
    full = _issue(ring, holder, score=800, as_of=date(2026, 1, 1), model_version="m1")
    for cred in (lean, full):
        sd = CompactJWS(SdJwtParts.parse(cred.sd_jwt).issuer_jwt).payload["_sd"]
        assert len(sd) == SD_DIGEST_COUNT
        real = {d.digest for d in cred.disclosures.values()}
        assert real < set(sd)
        assert len(set(sd) - real) >= 3  # decoys present
        assert sd == sorted(sd)


def test_presenting_an_unknown_claim_is_an_error(ring, holder) -> None:  # noqa: ANN001
    cred = _issue(ring, holder)
    with pytest.raises(ValueError, match="no disclosable claim"):
        _present(cred, holder, disclose=["score"])


# --- refusals, one distinct code each ---------------------------------------------------------


def test_refuses_expired(ring, holder) -> None:  # noqa: ANN001
    cred = _issue(ring, holder)
    later = NOW + 15 * 60 + 31  # past exp plus the 30 s leeway
    result = _verify(_present(cred, holder, now=later), ring, now=later)
    assert result.reason == ErrorCode.CRED_EXPIRED
    ok = _verify(_present(cred, holder, now=later - 2), ring, now=later - 2)  # within leeway
    assert ok.ok


def test_refuses_not_yet_valid(ring, holder) -> None:  # noqa: ANN001
    cred = _issue(ring, holder, now=NOW + 120)
    result = _verify(_present(cred, holder), ring)
    assert result.reason == ErrorCode.CRED_NOT_YET_VALID


def test_refuses_wrong_audience(ring, holder) -> None:  # noqa: ANN001
    token = _present(_issue(ring, holder), holder, aud="https://other.example")
    assert _verify(token, ring).reason == ErrorCode.CRED_WRONG_AUDIENCE


def test_refuses_wrong_nonce(ring, holder) -> None:  # noqa: ANN001
    token = _present(_issue(ring, holder), holder, nonce="replayed")
    assert _verify(token, ring).reason == ErrorCode.CRED_WRONG_NONCE


def test_refuses_revoked(ring, holder, lists) -> None:  # noqa: ANN001
    cred = _issue(ring, holder, lists)
    token = _present(cred, holder)
    assert _verify(token, ring, status_list=lists.token(ring, NOW)).ok
    lists.revoke(cred.status.idx, RevocationReason.FRAUD, NOW)
    result = _verify(token, ring, status_list=lists.token(ring, NOW))
    assert result.reason == ErrorCode.CRED_REVOKED
    # The issuer's own (trusted) list object works too, and a uri->list mapping.
    assert _verify(token, ring, status_list=lists.list).reason == ErrorCode.CRED_REVOKED
    assert _verify(token, ring, status_list={LIST_URI: lists.list}).reason == ErrorCode.CRED_REVOKED


def test_refuses_tampered_issuer_payload(ring, holder) -> None:  # noqa: ANN001
    token = _present(_issue(ring, holder), holder)
    jwt, rest = token.split("~", 1)
    h, p, s = jwt.split(".")
    payload = json.loads(b64u_decode(p))
    payload["exp"] += 86_400
    forged = f"{h}.{b64u_encode(json_bytes(payload))}.{s}~{rest}"
    assert _verify(forged, ring).reason == ErrorCode.CRED_TAMPERED


def test_refuses_tampered_disclosure(ring, holder) -> None:  # noqa: ANN001
    cred = _issue(ring, holder, score=610)
    real = cred.disclosures["score_at_least_650"]
    fake = Disclosure.create("score_at_least_650", True, salt=real.salt)  # flip false -> true
    parts = SdJwtParts(SdJwtParts.parse(cred.sd_jwt).issuer_jwt, (fake.encoded,), None)
    token = _present_parts(parts, holder)
    result = _verify(token, ring)
    assert result.reason == ErrorCode.CRED_TAMPERED
    assert "matches no signed digest" in result.detail


def _present_parts(parts: SdJwtParts, holder: HolderKey) -> str:
    """Sign a KB-JWT over arbitrary parts (what an attacker holding the key could do)."""
    from credo.credentials.jose import sign_compact
    from credo.credentials.sdjwt import sd_hash

    kb = sign_compact({"typ": "kb+jwt"}, {"iat": NOW, "aud": AUD, "nonce": NONCE, "sd_hash": sd_hash(parts)},
                      holder.private_key)
    return SdJwtParts(parts.issuer_jwt, parts.disclosures, kb).serialise()


def test_refuses_disclosure_added_after_key_binding(ring, holder) -> None:  # noqa: ANN001
    cred = _issue(ring, holder)
    token = _present(cred, holder)
    parts = SdJwtParts.parse(token)
    widened = SdJwtParts(parts.issuer_jwt, (*parts.disclosures, cred.disclosures["band"].encoded), parts.kb_jwt)
    assert _verify(widened.serialise(), ring).reason == ErrorCode.CRED_TAMPERED


def test_refuses_kb_jwt_signed_by_another_holder(ring, holder) -> None:  # noqa: ANN001
    cred = _issue(ring, holder)
    parts = SdJwtParts.parse(present(cred.sd_jwt, disclose=["band"], holder_key=None, audience=AUD,
                                     nonce=NONCE, now=NOW))
    thief = HolderKey()
    assert _verify(_present_parts(parts, thief), ring).reason == ErrorCode.CRED_TAMPERED


@pytest.mark.parametrize("alg", ["none", "HS256", "RS256", "ES256"])
def test_refuses_wrong_or_none_algorithm(ring, holder, alg: str) -> None:  # noqa: ANN001
    token = _present(_issue(ring, holder), holder)
    jwt, rest = token.split("~", 1)
    h, p, s = jwt.split(".")
    header = json.loads(b64u_decode(h))
    header["alg"] = alg
    forged = f"{b64u_encode(json_bytes(header))}.{p}.{'' if alg == 'none' else s}~{rest}"
    assert _verify(forged, ring).reason == ErrorCode.CRED_ALG_NOT_ALLOWED


def test_refuses_eddsa_when_the_verifier_does_not_allow_it(ring, holder) -> None:  # noqa: ANN001
    token = _present(_issue(ring, holder), holder)
    assert _verify(token, ring, allowed_algs=("Ed25519",)).reason == ErrorCode.CRED_ALG_NOT_ALLOWED


def test_refuses_unknown_key_id(ring, holder) -> None:  # noqa: ANN001
    token = _present(_issue(ring, holder), holder)
    stranger = KeyRing.generate(NOW)
    assert _verify(token, stranger).reason == ErrorCode.CRED_UNKNOWN_KEY


def test_refusal_reasons_are_distinct_codes() -> None:
    codes = [ErrorCode.CRED_EXPIRED, ErrorCode.CRED_NOT_YET_VALID, ErrorCode.CRED_WRONG_AUDIENCE,
             ErrorCode.CRED_WRONG_NONCE, ErrorCode.CRED_REVOKED, ErrorCode.CRED_TAMPERED,
             ErrorCode.CRED_ALG_NOT_ALLOWED, ErrorCode.CRED_UNKNOWN_KEY]
    assert len({c.value for c in codes}) == len(codes)


def test_refuses_presentation_without_key_binding(ring, holder) -> None:  # noqa: ANN001
    cred = _issue(ring, holder)
    bare = present(cred.sd_jwt, disclose=["band"], holder_key=None, audience=AUD, nonce=NONCE, now=NOW)
    assert _verify(bare, ring).reason == ErrorCode.CRED_KEY_BINDING_MISSING
    no_cnf = issue_score_band(ring, score=700, issuer=ISS, now=NOW)
    bare = present(no_cnf.sd_jwt, disclose=["band"], holder_key=None, audience=AUD, nonce=NONCE, now=NOW)
    assert _verify(bare, ring).reason == ErrorCode.CRED_KEY_BINDING_MISSING


def test_refuses_stale_presentation(ring, holder) -> None:  # noqa: ANN001
    cred = _issue(ring, holder)
    token = _present(cred, holder, now=NOW)
    assert _verify(token, ring, now=NOW + 400).reason == ErrorCode.CRED_PRESENTATION_STALE


def test_refuses_wrong_issuer_and_wrong_type(ring, holder) -> None:  # noqa: ANN001
    token = _present(_issue(ring, holder), holder)
    assert _verify(token, ring, issuer="https://evil.example").reason == ErrorCode.CRED_WRONG_ISSUER
    assert _verify(token, ring, vct="urn:other").reason == ErrorCode.CRED_WRONG_TYPE
    assert _verify(token, ring, issuer=ISS).ok


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c~", "~~", "eyJ9.eyJ9.x~"])
def test_refuses_malformed(ring, garbage: str) -> None:  # noqa: ANN001
    assert _verify(garbage, ring).reason == ErrorCode.CRED_MALFORMED


def test_raise_for_refusal_carries_the_code(ring, holder) -> None:  # noqa: ANN001
    result = _verify(_present(_issue(ring, holder), holder, nonce="x"), ring)
    with pytest.raises(CredentialRefused) as info:
        result.raise_for_refusal()
    assert info.value.code == ErrorCode.CRED_WRONG_NONCE


# --- keys: rotation, persistence, offline JWKS --------------------------------------------------


def test_rotation_keeps_old_credentials_verifiable_until_they_expire(holder) -> None:  # noqa: ANN001
    ring = KeyRing.generate(NOW - 10)
    old_kid = ring.active.kid
    old = issue_score_band(ring, score=660, issuer=ISS, now=NOW, holder_jwk=holder.public_jwk())
    new_key = ring.rotate(NOW + 60)
    new = issue_score_band(ring, score=660, issuer=ISS, now=NOW + 60, holder_jwk=holder.public_jwk())
    assert new.kid == new_key.kid != old.kid == old_kid
    assert [k["kid"] for k in ring.jwks()["keys"]] == [new_key.kid, old_kid]
    t = NOW + 14 * 60  # both still within their lifetimes
    for cred in (old, new):
        assert _verify(_present(cred, holder, now=t), ring, now=t).ok
    # Long after every credential signed with the old key has expired, the key is dropped.
    assert ring.prune(NOW + 61 + 2 * 86_400) == [old_kid]
    assert ring.jwks()["keys"][0]["kid"] == new_key.kid and len(ring.jwks()["keys"]) == 1
    late = NOW + 2 * 86_400
    assert _verify(_present(old, holder, now=late), ring, now=late).reason == ErrorCode.CRED_UNKNOWN_KEY


def test_rotation_refuses_a_retention_shorter_than_a_credential_lifetime() -> None:
    ring = KeyRing.generate(NOW)
    with pytest.raises(ValueError):
        ring.rotate(NOW, retain_for=timedelta(minutes=1))


def test_ttl_is_configurable_and_bounded(ring, holder) -> None:  # noqa: ANN001
    cred = _issue(ring, holder, ttl=timedelta(minutes=5))
    assert cred.expires_at == NOW + 300
    with pytest.raises(ValueError):
        _issue(ring, holder, ttl=timedelta(days=2))


def test_keyring_save_and_load_round_trip(tmp_path, holder) -> None:  # noqa: ANN001
    ring = KeyRing.generate(NOW - 10)
    old = issue_score_band(ring, score=705, issuer=ISS, now=NOW, holder_jwk=holder.public_jwk())
    ring.rotate(NOW)
    ring.save(tmp_path / "keys", passphrase=b"correct horse")
    for pem in (tmp_path / "keys").glob("*.pem"):
        assert oct(os.stat(pem).st_mode & 0o777) == "0o600"
        assert b"ENCRYPTED" in pem.read_bytes()
    loaded = KeyRing.load(tmp_path / "keys", passphrase=b"correct horse")
    assert loaded.active.kid == ring.active.kid and loaded.jwks() == ring.jwks()
    assert _verify(_present(old, holder), loaded).ok
    new = issue_score_band(loaded, score=705, issuer=ISS, now=NOW, holder_jwk=holder.public_jwk())
    assert _verify(_present(new, holder), ring).ok


def test_jwks_round_trips_through_a_file_for_offline_verification(tmp_path, ring, holder) -> None:  # noqa: ANN001
    path = tmp_path / "jwks.json"
    save_jwks(path, ring.jwks())
    text = path.read_text()
    assert '"d"' not in text  # public keys only
    offline = load_jwks(path)
    token = _present(_issue(ring, holder), holder)
    result = verify_presentation(token, jwks=offline, audience=AUD, nonce=NONCE, now=NOW)
    assert result.ok and result.disclosed == {"score_at_least_600": True}


# --- status list --------------------------------------------------------------------------------


def test_status_list_issuer_round_trip_keeps_revocations_and_reasons(tmp_path, ring, holder, lists) -> None:  # noqa: ANN001
    creds = [_issue(ring, holder, lists) for _ in range(5)]
    idxs = [c.status.idx for c in creds]
    assert len(set(idxs)) == 5
    lists.revoke(idxs[0], RevocationReason.ACCOUNT_CLOSED, NOW)
    lists.revoke(idxs[1], "dispute_lowered_band", NOW)
    lists.save(tmp_path / "status.json")
    back = StatusListIssuer.load(tmp_path / "status.json")
    assert back.to_json() == lists.to_json()
    assert back.revocations[idxs[0]]["reason"] == "account_closed"
    published = verify_status_list_token(back.token(ring, NOW), jwks=ring.jwks(), uri=LIST_URI, now=NOW)
    assert [published.get(i) for i in idxs] == [1, 1, 0, 0, 0]
    # The published token carries bits only, never reasons.
    assert "reason" not in json.dumps(CompactJWS(back.token(ring, NOW)).payload)
    with pytest.raises(ValueError):
        lists.revoke(idxs[2], "score_went_down", NOW)


def test_untrustworthy_status_list_is_status_unavailable(ring, holder, lists) -> None:  # noqa: ANN001
    token = _present(_issue(ring, holder, lists), holder)
    other = StatusListIssuer("https://credo.example/status/2", size=1024)
    assert _verify(token, ring, status_list=other.token(ring, NOW)).reason == ErrorCode.CRED_STATUS_UNAVAILABLE
    stale = lists.token(ring, NOW - 7200)
    assert _verify(token, ring, status_list=stale).reason == ErrorCode.CRED_STATUS_UNAVAILABLE
    foreign = lists.token(KeyRing.generate(NOW), NOW)
    assert _verify(token, ring, status_list=foreign).reason == ErrorCode.CRED_STATUS_UNAVAILABLE
    assert _verify(token, ring, require_status=True).reason == ErrorCode.CRED_STATUS_UNAVAILABLE
    assert _verify(token, ring).ok and not _verify(token, ring).status_checked
