"""Verifiable band credentials: a consumer proves a score band (never the number) to anyone.

An IETF SD-JWT VC ("ScoreBand", RFC 9901 SD-JWT + draft-ietf-oauth-sd-jwt-vc),
signed with Ed25519 (``alg: EdDSA``) by a rotating :class:`KeyRing`, holder
bound through ``cnf`` and a Key Binding JWT carrying the verifier's audience
and nonce, revocable through an IETF Token Status List.

Typical flow::

    ring = KeyRing.generate(now)                          # issuer, once; ring.save(dir)
    lists = StatusListIssuer("https://credo.example/status/1")
    holder = HolderKey()                                  # wallet (or custodial)
    cred = issue_score_band(ring, score=642, issuer=ISS, now=now,
                            holder_jwk=holder.public_jwk(), status=lists.allocate())
    token = present(cred.sd_jwt, disclose=["score_at_least_600"], holder_key=holder,
                    audience="https://shop.example", nonce=n, now=now)
    result = verify_presentation(token, jwks=ring.jwks(), audience="https://shop.example",
                                 nonce=n, now=now, status_list=lists.token(ring, now))
    result.ok, result.reason, result.disclosed            # True, None, {"score_at_least_600": True}
"""

from credo.credentials.band import (
    DEFAULT_TTL,
    DISCLOSABLE_CLAIMS,
    SCORE_BAND_VCT,
    SD_DIGEST_COUNT,
    THRESHOLD_LADDER,
    HolderKey,
    IssuedCredential,
    issue_score_band,
    present,
    threshold_claim,
)
from credo.credentials.keys import MAX_CREDENTIAL_TTL, IssuerKey, KeyRing, load_jwks, save_jwks
from credo.credentials.status import (
    RevocationReason,
    StatusList,
    StatusListError,
    StatusListIssuer,
    StatusRef,
    verify_status_list_token,
)
from credo.credentials.verify import DEFAULT_LEEWAY, CredentialRefused, VerificationResult, verify_presentation

__all__ = [
    "DEFAULT_LEEWAY", "DEFAULT_TTL", "DISCLOSABLE_CLAIMS", "MAX_CREDENTIAL_TTL", "SCORE_BAND_VCT",
    "SD_DIGEST_COUNT", "THRESHOLD_LADDER", "CredentialRefused", "HolderKey", "IssuedCredential", "IssuerKey",
    "KeyRing", "RevocationReason", "StatusList", "StatusListError", "StatusListIssuer", "StatusRef",
    "VerificationResult", "issue_score_band", "load_jwks", "present", "save_jwks", "threshold_claim",
    "verify_presentation", "verify_status_list_token",
]
